# bench/gen: the line generator against the parser, `wgmon gen` and a `wgmon-bench parse` smoke run.
# test_gen.c #includes bench/gen.c (static helpers), so it does not link wgmon_gen.
wgmon_criterion_test(test_gen SOURCES test_gen.c LIBS wgmon_parse TIMEOUT 120 LABELS gen)
add_dependencies(test_gen wgmon wgmon-bench)
