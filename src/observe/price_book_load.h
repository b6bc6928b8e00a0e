// Reading a price book into model::PriceBook: YAML (apiVersion gpuwise.io/v1alpha1, kind PriceBook), CSV (one rule
// or commitment per row, columns named by a header), and the built-in example book (default_prices.yaml, compiled
// in). Both formats give the same book for the same content; the formats and the defaults: docs/pricing.md.
//
// Errors: InvalidArgument naming the input, the line (and for YAML the column), the field and why: a negative or
// non-numeric price (NaN, inf, "1e3", "$5"), an unknown capacity type, a bad currency code or one that differs from
// the book's (one currency per book), overlapping effective dates for the same key, an unknown key or column, a
// missing field. Nothing here throws: yaml-cpp's exceptions are caught in the .cc.
// Thread-safety: free functions on values; LoadPriceBook reads one file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "model/price_book.h"

namespace gpuwise::observe {

// `source` names the input in errors and in each rule's source ("prices.yaml" -> "prices.yaml line 12").
base::Result<model::PriceBook> ParsePriceBookYaml(std::string_view yaml, std::string_view source);
base::Result<model::PriceBook> ParsePriceBookCsv(std::string_view csv, std::string_view source);
// A file: ".csv" (any case) is CSV, anything else YAML. NotFound when it cannot be read.
base::Result<model::PriceBook> LoadPriceBook(const std::string& path);

// The built-in example book and its text (documented example defaults, not quotes).
std::string_view DefaultPriceBookYaml();
base::Result<model::PriceBook> DefaultPriceBook();

// An exact decimal ("98.32", "0.9", "+4", "12.") to micro-units (x 1e6). More than six decimals round half to even.
// Rejected, with the reason: empty, NaN and infinities, exponents, signs other than a leading one, grouping
// characters, currency symbols, values of 1e12 or more. Negative values parse (callers say why they are wrong).
base::Result<std::int64_t> ParseDecimalMicro(std::string_view text);

}  // namespace gpuwise::observe
