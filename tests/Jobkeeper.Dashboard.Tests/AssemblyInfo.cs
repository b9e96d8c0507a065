// Each test class starts a server process and a browser; on a 2-core machine, running them side by side would
// only make each slower and the "within a second" checks noisy.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
