// The tests share one packed feed and run one after another: each builds or runs a .NET program, and two at once on
// two cores only slow each other down.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
