# usage_sketch_bench: UsageSketch insert / merge / query cost, accuracy vs exact, bytes per series.
# Included from bench/CMakeLists.txt.
add_executable(usage_sketch_bench ${CMAKE_CURRENT_LIST_DIR}/usage_sketch_bench.cc)
target_link_libraries(usage_sketch_bench PRIVATE gpuwise_model benchmark::benchmark)
