# Prometheus HTTP API client (query, query_range, series, labels) and the query_range decoder.
