# Prometheus HTTP API client (query, query_range, series, labels) and the query_range decoder.
gpuwise_library(gpuwise_prom_api
  SRCS ${CMAKE_CURRENT_LIST_DIR}/query_decoder.cc ${CMAKE_CURRENT_LIST_DIR}/prom_client.cc
  DEPS gpuwise_base
  PRIVATE_DEPS simdjson::simdjson CURL::libcurl Threads::Threads)
gpuwise_test(prom_api_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/query_decoder_test.cc ${CMAKE_CURRENT_LIST_DIR}/prom_client_test.cc
  DEPS gpuwise_prom_api gpuwise_fake_prometheus rapidcheck)
