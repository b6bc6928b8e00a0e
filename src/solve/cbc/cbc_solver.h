// The CBC adapter: optimize::MipSolver backed by COIN-OR CBC (Debian coinor-libcbc-dev), the only file that sees CBC.
// Solves run through CBC's standard driver (CbcMain0/CbcMain1: preprocessing, cuts and heuristics as the `cbc`
// command line uses them), with the time limit in wall-clock seconds, one thread unless asked, and no output
// unless MipOptions::log.
// Status mapping: kOptimal only when CBC proved optimality; a stop on the time limit or on a requested relative
// gap is kFeasible (with a solution) or kNoSolutionAtLimit (without); CBC giving up is kError. Any exception from
// CBC becomes an Internal Status. Every returned solution is re-checked against the model (MipModel::IsFeasible).
// Thread-safety: CBC's driver keeps process-wide state, so Solve calls are serialised by a process-wide mutex.
#pragma once

#include <memory>

#include "optimize/solver.h"

namespace gpuwise::solve::cbc {

std::unique_ptr<optimize::MipSolver> NewCbcSolver();

}  // namespace gpuwise::solve::cbc
