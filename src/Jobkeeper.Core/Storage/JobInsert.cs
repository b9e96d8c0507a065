using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>A new job and its creation event, as a batch insert takes them.</summary>
public sealed record JobInsert(Job Job, JobEvent Created);
