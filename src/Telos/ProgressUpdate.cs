namespace Telos;

/// <summary>
/// One progress report from a long job, sent through <see cref="IProgress{T}"/>. The CLI turns
/// these into a progress bar (terminal) or periodic plain lines (logs); library code only reports.
/// </summary>
/// <param name="Task">A short name of the job ("meta-train", "ppo").</param>
/// <param name="Done">Units done so far.</param>
/// <param name="Total">Units in all; 0 when unknown.</param>
/// <param name="Detail">Optional short status such as "loss 0.42".</param>
public readonly record struct ProgressUpdate(string Task, long Done, long Total, string? Detail = null);
