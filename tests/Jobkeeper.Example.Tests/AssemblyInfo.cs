// Every test starts the example app as real processes and some measure how fast jobs come back; on a small
// machine, running them side by side would only make each slower and its timings noisier.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
