# Prometheus query_range decoding: our columnar decoder vs a plain simdjson DOM parse (the anchor).
add_executable(query_decode_bench ${CMAKE_CURRENT_LIST_DIR}/query_decode_bench.cc)
target_link_libraries(query_decode_bench PRIVATE gpuwise_prom_api simdjson::simdjson benchmark::benchmark)
