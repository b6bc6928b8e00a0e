# libFuzzer target for the Prometheus API decoder; seed corpus in corpus/query_decoder/.
if(GPUWISE_FUZZ)
  add_executable(query_decoder_fuzz ${CMAKE_CURRENT_LIST_DIR}/query_decoder_fuzz.cc)
  target_link_libraries(query_decoder_fuzz PRIVATE gpuwise_prom_api)
  target_link_options(query_decoder_fuzz PRIVATE -fsanitize=fuzzer)
  target_compile_options(query_decoder_fuzz PRIVATE -fsanitize=fuzzer)
endif()
