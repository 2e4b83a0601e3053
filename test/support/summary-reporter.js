// Prints one plain closing line ("jest: N passed, N failed, N skipped") after the run,
// so CI logs state the count in a runner-independent form.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests
    // A suite that failed to run (syntax error, missing file) counts as a failure too.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    process.stdout.write(`\njest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
module.exports = SummaryReporter
