# Replays the fuzz seed corpora (which include every reproducer of a fixed
# crash) through the fuzz targets with standalone_main.c instead of libFuzzer,
# so the normal test build, with any compiler, keeps them passing.
# Included from tests/CMakeLists.txt.
foreach(name answer zone)
  add_executable(fuzz_${name}_replay
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_${name}.c
    ${CMAKE_CURRENT_LIST_DIR}/standalone_main.c)
  dnschaos_target_defaults(fuzz_${name}_replay)
  target_link_libraries(fuzz_${name}_replay PRIVATE fakeresolver PkgConfig::LDNS)
  add_test(NAME fuzz_${name}_corpus
           COMMAND fuzz_${name}_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/${name})
endforeach()

# The capture's packet parser (harness/farm/sniff.c): hostile packets off loopback.
add_executable(fuzz_sniff_replay
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_sniff.c
  ${CMAKE_CURRENT_LIST_DIR}/standalone_main.c
  ${PROJECT_SOURCE_DIR}/harness/farm/sniff.c)
dnschaos_target_defaults(fuzz_sniff_replay)
target_link_libraries(fuzz_sniff_replay PRIVATE fakeresolver)
add_test(NAME fuzz_sniff_corpus
         COMMAND fuzz_sniff_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/sniff)

# The history reader's corpus: good histories and every hostile one
# (tests/unit/test_hist.c gives each bad-* file its message).
add_executable(fuzz_hist_replay
  ${CMAKE_CURRENT_LIST_DIR}/fuzz_hist.c
  ${CMAKE_CURRENT_LIST_DIR}/standalone_main.c
  ${PROJECT_SOURCE_DIR}/harness/record/hist.c
  ${PROJECT_SOURCE_DIR}/harness/record/cause.c
  ${PROJECT_SOURCE_DIR}/harness/record/perclient.c
  ${PROJECT_SOURCE_DIR}/fakeresolver/json.c)
dnschaos_target_defaults(fuzz_hist_replay)
target_link_libraries(fuzz_hist_replay PRIVATE m)
add_test(NAME fuzz_hist_corpus
         COMMAND fuzz_hist_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/hist)
