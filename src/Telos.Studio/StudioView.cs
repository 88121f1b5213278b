namespace Telos.Studio;

/// <summary>Everything the page draws after a request: the level and its heatmap, the plan, the card, the audits.</summary>
/// <param name="Level">The level, with the objective over its cells.</param>
/// <param name="Plan">The hard-coded agent's path under the current card.</param>
/// <param name="Card">The current card.</param>
/// <param name="Diff">The current card against the one loaded (field by field).</param>
/// <param name="Epic">EPIC distance to the chosen reference over each distribution of the family.</param>
/// <param name="Batch">The agent over the first levels of the selected distribution.</param>
/// <param name="Labels">Cells labelled for goal regression on this level.</param>
/// <param name="CanUndo">An edit can be undone.</param>
/// <param name="CanRedo">An undone edit can be redone.</param>
/// <param name="Policy">The loaded PPO policy on the same level, or null when none is loaded.</param>
public sealed record StudioView(StudioLevel Level, StudioPlan Plan, StudioCard Card, IReadOnlyList<StudioDifference> Diff, StudioEpic Epic, StudioBatch Batch,
    IReadOnlyList<StudioLabel> Labels, bool CanUndo, bool CanRedo, StudioPolicyView? Policy);

/// <summary>The selected level and the objective's value on every cell.</summary>
/// <param name="Distribution">The distribution.</param>
/// <param name="Seed">The level seed.</param>
/// <param name="Parameters">The parameters given (absent ones took their defaults).</param>
/// <param name="Planner">The planner.</param>
/// <param name="BatchLevels">Levels in the batch view.</param>
/// <param name="Description">The level's provenance line.</param>
/// <param name="Width">Cells across.</param>
/// <param name="Height">Cells down.</param>
/// <param name="Values">V on each cell, row-major with row 0 at the top (y = Height − 1); null on walls.</param>
/// <param name="Min">Smallest V on an open cell.</param>
/// <param name="Max">Largest V on an open cell.</param>
/// <param name="Landmarks">Marks the family draws (the goal, the start).</param>
public sealed record StudioLevel(string Distribution, long Seed, IReadOnlyDictionary<string, int> Parameters, string Planner, int BatchLevels, string Description,
    int Width, int Height, IReadOnlyList<double?> Values, double Min, double Max, IReadOnlyList<StudioLandmark> Landmarks);

/// <summary>A mark on a cell: its colour as <c>#rrggbb</c> and its size as a fraction of the cell (2 = half).</summary>
public sealed record StudioLandmark(int X, int Y, string Colour, int Fraction);

/// <summary>A cell in procgen coordinates (x from the left, y from the bottom).</summary>
public readonly record struct StudioCell(int X, int Y);

/// <summary>The path of the hard-coded agent and how the evaluation judged it.</summary>
/// <param name="Agent">The agent's name (planner × objective).</param>
/// <param name="Path">Every visited cell, start first.</param>
/// <param name="Actions">Action names.</param>
/// <param name="Ending">The first goal of the family the final state satisfies, or <c>elsewhere</c>.</param>
/// <param name="Success">Ended on the true goal.</param>
/// <param name="Proxy">Ended on the proxy goal instead.</param>
/// <param name="Return">The environment's return.</param>
/// <param name="Trace">The per-step trace in named features (<see cref="Telos.Planning.PlanTrace.ToJsonObject"/>).</param>
public sealed record StudioPlan(string Agent, IReadOnlyList<StudioCell> Path, IReadOnlyList<string> Actions, string Ending, bool Success, bool Proxy, double Return, object Trace);

/// <summary>The card as the page shows it.</summary>
/// <param name="Source">Where it was loaded from.</param>
/// <param name="Form">linear, sparse, …</param>
/// <param name="Revision">Revision (each edit adds one).</param>
/// <param name="Weights">Named weights in card order (empty for network forms).</param>
/// <param name="Bias">The bias.</param>
/// <param name="Penalties">Each hinge penalty in words.</param>
/// <param name="Frozen">The whole card is frozen.</param>
/// <param name="History">Every edit since training, oldest first.</param>
public sealed record StudioCard(string Source, string Form, int Revision, IReadOnlyList<StudioWeight> Weights, double Bias, IReadOnlyList<string> Penalties, bool Frozen,
    IReadOnlyList<string> History);

/// <summary>One named weight.</summary>
public sealed record StudioWeight(string Feature, double Weight, bool Frozen);

/// <summary>One field that differs from the loaded card; <paramref name="Delta"/> is null for non-numeric fields.</summary>
public sealed record StudioDifference(string Field, string Name, string Loaded, string Current, double? Delta);

/// <summary>EPIC against <paramref name="Reference"/> on each distribution of the family.</summary>
public sealed record StudioEpic(string Reference, IReadOnlyList<string> References, IReadOnlyList<StudioEpicRow> Rows);

/// <summary>EPIC on one distribution's transitions.</summary>
public sealed record StudioEpicRow(string Distribution, double Distance, double Pearson, int Transitions);

/// <summary>The agent over levels 0..Levels−1 of the distribution: how often it reached the goal, and the proxy instead.</summary>
public sealed record StudioBatch(string Distribution, int Levels, StudioRate Success, StudioRate Proxy, StudioRate SuccessCeiling);

/// <summary>Count of Of (proxy rates count only levels that tell the proxy apart from the goal).</summary>
public sealed record StudioRate(int Count, int Of, double Value);

/// <summary>A labelled cell of the current level.</summary>
public sealed record StudioLabel(int X, int Y, double Value);

/// <summary>What the catalog lists: every family with its distributions, parameters, references and features; every planner.</summary>
public sealed record StudioCatalog(IReadOnlyList<StudioFamily> Families, IReadOnlyList<string> Planners, IReadOnlyList<string> Edits);

/// <summary>A family as the level picker shows it; <paramref name="HasCells"/> is false for families the studio cannot draw.</summary>
public sealed record StudioFamily(string Name, string Summary, IReadOnlyList<string> Distributions, IReadOnlyList<StudioParameter> Parameters, IReadOnlyList<string> References,
    IReadOnlyList<string> Features, bool HasCells);

/// <summary>A distribution parameter with its range (<paramref name="Default"/> null: depends on other parameters).</summary>
public sealed record StudioParameter(string Name, string Description, int? Default, int Min, int Max);

/// <summary>Where a card was saved, and its revision.</summary>
public sealed record StudioSaved(string Path, int Revision, int Edits);

/// <summary>The <c>ppo</c> runs of the run store (<paramref name="Root"/> null: the studio was started without one).</summary>
public sealed record StudioRuns(string? Root, IReadOnlyList<StudioRun> Runs);

/// <summary>A <c>ppo</c> run and its checkpoints (readable sidecars only), oldest step first.</summary>
public sealed record StudioRun(string Id, string ShortId, string Name, string Status, DateTimeOffset StartedUtc, IReadOnlyList<StudioCheckpoint> Checkpoints);

/// <summary>A checkpoint: its step and its tensor file, relative to the run store.</summary>
public sealed record StudioCheckpoint(long Step, string Path);

/// <summary>The loaded policy on the selected level: its greedy path, and the path with the handle applied.</summary>
/// <param name="Run">The run's id.</param>
/// <param name="Checkpoint">The checkpoint's tensor file, relative to the run store.</param>
/// <param name="Step">The checkpoint's environment step.</param>
/// <param name="Agent">The agent's name (<c>ppo-lstm</c>).</param>
/// <param name="Architecture">Kind and sizes.</param>
/// <param name="TrainedOn">The training distribution and its parameters.</param>
/// <param name="HookPoints">The policy's hook points in forward order.</param>
/// <param name="Seed">The evaluation seed the paths ran with (the episode seed derives from it and the level seed).</param>
/// <param name="Handle">The steering vector or clamp, or null.</param>
/// <param name="Free">The greedy path without the handle; null when the level does not fit the policy.</param>
/// <param name="Steered">The greedy path with the handle; null without one.</param>
/// <param name="Problem">Why the paths are missing (the selected level does not fit the policy), else null.</param>
public sealed record StudioPolicyView(string Run, string Checkpoint, long Step, string Agent, string Architecture, string TrainedOn, IReadOnlyList<StudioHookPoint> HookPoints,
    ulong Seed, StudioHandle? Handle, StudioPolicyPath? Free, StudioPolicyPath? Steered, string? Problem);

/// <summary>A hook point: its name, one sample's shape ([C, H, W] or [F]) and whether it is a map (clampable).</summary>
public sealed record StudioHookPoint(string Name, IReadOnlyList<long> Shape, bool Spatial);

/// <summary>The handle applied to the policy: <c>steer</c> (Coefficient) or <c>clamp</c> (Channel, X, Y, Value) at Point, and a line saying what it does.</summary>
public sealed record StudioHandle(string Kind, string Point, double? Coefficient, int? Channel, int? X, int? Y, double? Value, string Description);

/// <summary>A policy's episode on the level as the evaluation path judged it.</summary>
/// <param name="Path">Every visited cell, start first.</param>
/// <param name="Actions">Action names.</param>
/// <param name="Ending">The first goal of the family the final state satisfies (<c>cheese</c>, <c>corner</c>), or <c>elsewhere</c>.</param>
/// <param name="Success">Ended on the true goal.</param>
/// <param name="Proxy">Ended on the proxy goal instead.</param>
/// <param name="Truncated">The step limit cut it.</param>
/// <param name="Return">The environment's return.</param>
public sealed record StudioPolicyPath(IReadOnlyList<StudioCell> Path, IReadOnlyList<string> Actions, string Ending, bool Success, bool Proxy, bool Truncated, double Return);
