# parse/: unit tests, the shared corpus through `wgmon parse`, and the fuzz corpus replayed.
wgmon_criterion_test(test_parse SOURCES test_parse.c LIBS wgmon_parse TIMEOUT 60 LABELS parse)
wgmon_criterion_test(test_corpus SOURCES test_corpus.c TIMEOUT 60 LABELS parse)
add_dependencies(test_corpus wgmon)

wgmon_fuzz_driver(parse LIBS wgmon_parse)
