using System.Globalization;
using Telos.Environments;
using Telos.Lab.Evaluation;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Studio;

/// <summary>A checked handle on a policy: what <see cref="HandleRequest"/> asked for, with its defaults filled in.</summary>
/// <param name="Kind"><c>steer</c> or <c>clamp</c>.</param>
/// <param name="Point">The hook point.</param>
/// <param name="Coefficient">steer: the cheese vector's coefficient.</param>
/// <param name="Channel">clamp: the channel.</param>
/// <param name="X">clamp: the cell's x.</param>
/// <param name="Y">clamp: the cell's y.</param>
/// <param name="Value">clamp: the value.</param>
internal sealed record PolicyHandle(string Kind, string Point, double Coefficient, int Channel, int X, int Y, double Value)
{
    public StudioHandle ToView() => Kind == StudioPolicy.Steer
        ? new StudioHandle(Kind, Point, Coefficient, null, null, null, null, string.Create(CultureInfo.InvariantCulture, $"{Point} + {Coefficient:G6} × the cheese vector of this level"))
        : new StudioHandle(Kind, Point, null, Channel, X, Y, Value, string.Create(CultureInfo.InvariantCulture, $"{Point} channel {Channel} at ({X}, {Y}) clamped to {Value:G6}"));
}

/// <summary>
/// A trained PPO policy loaded from the run store for the studio: the checkpoint, read once through
/// <see cref="PolicyCheckpoints"/>, and its greedy paths on a level through the one evaluation path
/// (<see cref="AgentEvaluations.RunPolicy"/>), without and with a handle applied through
/// <see cref="ActivationHooks"/>. The studio disposes it when another replaces it.
/// </summary>
internal sealed class StudioPolicy : IDisposable
{
    /// <summary>The handle that adds a scaled cheese vector.</summary>
    public const string Steer = "steer";

    /// <summary>The handle that clamps a channel at a cell.</summary>
    public const string Clamp = "clamp";

    /// <summary>The request that removes the handle.</summary>
    public const string None = "none";

    /// <summary>Turner et al.'s clamp value.</summary>
    public const double DefaultClampValue = 5.5;

    /// <summary>Subtract the cheese vector (Turner et al.'s intervention).</summary>
    public const double DefaultCoefficient = -1;

    private StudioPolicy(RunRecord run, CheckpointInfo checkpoint, string relativePath, ActorCritic policy, PolicyCheckpointMetadata metadata)
    {
        Run = run;
        Checkpoint = checkpoint;
        RelativePath = relativePath;
        Policy = policy;
        Metadata = metadata;
    }

    public RunRecord Run { get; }

    public CheckpointInfo Checkpoint { get; }

    /// <summary>The tensor file relative to the run store.</summary>
    public string RelativePath { get; }

    public ActorCritic Policy { get; }

    public PolicyCheckpointMetadata Metadata { get; }

    /// <summary>The <c>ppo</c> runs of <paramref name="store"/> and their checkpoints.</summary>
    public static IReadOnlyList<StudioRun> List(RunStore store) =>
        [.. store.List().Where(r => r.Kind == PpoExperiment.KindName).Select(r => new StudioRun(r.Id, r.ShortId, r.Name, r.StatusText, r.StartedUtc,
            [.. RunFiles.Checkpoints(r.Directory).Select(c => new StudioCheckpoint(c.Step, Path.GetRelativePath(store.Root, c.TensorPath)))]))];

    /// <summary>The checkpoint <paramref name="request"/> names, found among the store's own listing (a path is never opened unless the store lists it).</summary>
    /// <exception cref="TelosInputException">Neither or both fields; an unknown run; a run that is not a ppo run or has no checkpoint; a path that is not a listed checkpoint.</exception>
    public static (RunRecord Run, CheckpointInfo Checkpoint) Resolve(RunStore store, PolicyRequest request)
    {
        if ((request.Run is null) == (request.Checkpoint is null))
        {
            throw new TelosInputException("run: give a ppo run's id, or checkpoint: one of its checkpoint files (GET /api/runs lists both), not both");
        }
        if (request.Run is { } id)
        {
            var run = store.Find(id);
            if (run.Kind != PpoExperiment.KindName)
            {
                throw new TelosInputException($"run '{id}': {run.Id} is a run of kind '{run.Kind}', not a ppo run (it holds no policy to load)");
            }
            // The run's directory, so that Find never reads a path the request named.
            return (run, PolicyCheckpoints.Find(store, run.Directory));
        }
        // A name no file can have (a NUL) is simply not among the listed ones.
        var wanted = request.Checkpoint!.Contains('\0', StringComparison.Ordinal) ? null : Path.GetFullPath(Path.Combine(store.Root, request.Checkpoint));
        foreach (var run in store.List().Where(r => r.Kind == PpoExperiment.KindName))
        {
            var match = wanted is null ? null : RunFiles.Checkpoints(run.Directory).FirstOrDefault(c => c.TensorPath == wanted || c.SidecarPath == wanted);
            if (match is not null)
            {
                return (run, match);
            }
        }
        throw new TelosInputException($"checkpoint '{request.Checkpoint}': not a checkpoint of a ppo run in {store.Root} (GET /api/runs lists them)");
    }

    /// <summary>Reads the checkpoint's policy (the caller disposes it).</summary>
    /// <exception cref="TelosInputException">A damaged checkpoint or one that is not a ppo policy's.</exception>
    public static StudioPolicy Load(RunStore store, RunRecord run, CheckpointInfo checkpoint)
    {
        var (policy, metadata) = PolicyCheckpoints.Load(checkpoint);
        return new StudioPolicy(run, checkpoint, Path.GetRelativePath(store.Root, checkpoint.TensorPath), policy, metadata);
    }

    /// <summary>Checks a handle against the policy's hook points (the cell is checked against the level when the paths are computed).</summary>
    /// <returns>The handle, or null for <c>none</c>.</returns>
    /// <exception cref="TelosInputException">An unknown kind or hook point; a clamp on a flat point or a channel outside it; a missing cell; a non-finite coefficient or value.</exception>
    public PolicyHandle? Check(HandleRequest request)
    {
        if (request.Kind == None)
        {
            return null;
        }
        if (request.Kind is not (Steer or Clamp))
        {
            throw new TelosInputException($"kind '{request.Kind}': expected {Steer}, {Clamp} or {None}");
        }
        var point = Policy.HookPoints.FirstOrDefault(p => p.Name == request.Point)
            ?? throw new TelosInputException($"point '{request.Point}': not a hook point of this {Metadata.Architecture.Kind.ToString().ToLowerInvariant()} policy; it has {string.Join(", ", Policy.HookPoints.Select(p => p.Name))}");
        if (request.Kind == Steer)
        {
            return new PolicyHandle(Steer, point.Name, StudioNumbers.Finite(request.Coefficient, "coefficient", DefaultCoefficient), 0, 0, 0, 0);
        }
        if (!point.IsSpatial)
        {
            throw new TelosInputException($"point '{point.Name}': a flat activation [{string.Join(", ", point.Shape)}]; a clamp needs a map [C, H, W] ({string.Join(", ", Policy.HookPoints.Where(p => p.IsSpatial).Select(p => p.Name))})");
        }
        var channel = request.Channel ?? throw new TelosInputException("channel: required for a clamp");
        if (channel < 0 || channel >= point.Shape[0])
        {
            throw new TelosInputException($"channel {channel}: {point.Name} has channels 0 to {point.Shape[0] - 1}");
        }
        var x = request.X ?? throw new TelosInputException("x: required for a clamp (the cell's x, from the left)");
        var y = request.Y ?? throw new TelosInputException("y: required for a clamp (the cell's y, from the bottom)");
        return new PolicyHandle(Clamp, point.Name, 0, channel, x, y, StudioNumbers.Finite(request.Value, "value", DefaultClampValue));
    }

    /// <summary>The policy's greedy paths on level <paramref name="levelSeed"/> of <paramref name="distribution"/>, without and with <paramref name="handle"/>.</summary>
    /// <exception cref="TelosInputException">The level does not fit the policy; the handle's cell is off the level's grid; a steering vector on a level that has no cheese.</exception>
    public StudioPolicyView View(string distribution, DistributionParameters parameters, long levelSeed, PolicyHandle? handle, ulong seed)
    {
        var (free, steered) = EnvironmentFamilies.Run(distribution, new PathsOperation(this, distribution, parameters, levelSeed, handle, seed));
        return Describe(seed, handle) with { Free = free, Steered = steered };
    }

    /// <summary>The policy's view without paths, saying why (<paramref name="problem"/>).</summary>
    public StudioPolicyView Unavailable(ulong seed, PolicyHandle? handle, string problem) => Describe(seed, handle) with { Problem = problem };

    public void Dispose() => Policy.Dispose();

    private StudioPolicyView Describe(ulong seed, PolicyHandle? handle) =>
        new(Run.Id, RelativePath, Checkpoint.Step, "ppo-" + Metadata.Architecture.Kind.ToString().ToLowerInvariant(), PolicyCheckpoints.Describe(Metadata.Architecture),
            $"{Metadata.Env} {string.Join(" ", Metadata.Parameters.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}")))}".TrimEnd(),
            [.. Policy.HookPoints.Select(p => new StudioHookPoint(p.Name, p.Shape, p.IsSpatial))], seed, handle?.ToView(), null, null, null);

    private sealed record PathsOperation(StudioPolicy Owner, string Distribution, DistributionParameters Parameters, long LevelSeed, PolicyHandle? Handle, ulong Seed)
        : IFamilyOperation<(StudioPolicyPath Free, StudioPolicyPath? Steered)>
    {
        public (StudioPolicyPath Free, StudioPolicyPath? Steered) Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var level = family.Distribution(Distribution, Parameters).Level(LevelSeed);
            AgentEvaluations.RequireFits(level, Owner.Metadata, $"run {Owner.Run.Id}", Distribution, Parameters);
            // Every tensor of both episodes and of the cheese vector is a temporary of this scope (the hooks keep their own copies).
            using var scope = NewDisposeScope();
            var free = Rollout(family, level);
            if (Handle is null)
            {
                return (free, null);
            }
            using var hooks = new ActivationHooks(Owner.Policy);
            if (Handle.Kind == Steer)
            {
                if (level is not Maze maze)
                {
                    throw new TelosInputException($"kind steer: the cheese vector is the mean activation with the cheese minus without it, so it needs a maze level; {Distribution} is {family.Name} (use a clamp)");
                }
                hooks.Steer(Handle.Point, GoalVector.CheeseVector(Owner.Policy, Handle.Point, [maze]), Handle.Coefficient);
            }
            else
            {
                var (width, height) = family.Cells!.Size(level);
                if (Handle.X < 0 || Handle.X >= width || Handle.Y < 0 || Handle.Y >= height)
                {
                    throw new TelosInputException($"x, y ({Handle.X}, {Handle.Y}): off the level's {width}×{height} grid");
                }
                var map = Owner.Policy.HookPoints.First(p => p.Name == Handle.Point).Shape;
                if (map[1] != height || map[2] != width)
                {
                    throw new TelosInputException($"point '{Handle.Point}': its map is {map[2]}×{map[1]}, the level's grid {width}×{height}, so a cell of the level names no cell of the map");
                }
                // The map's row 0 is the top row of the observation (y = height − 1).
                hooks.Clamp(Handle.Point, Handle.Channel, height - 1 - Handle.Y, Handle.X, (float)Handle.Value);
            }
            Owner.Policy.Hooks = hooks;
            try
            {
                return (free, Rollout(family, level));
            }
            finally
            {
                Owner.Policy.Hooks = null;
            }
        }

        private StudioPolicyPath Rollout<TState>(IEnvironmentFamily<TState> family, IEnvironment<TState> level)
            where TState : struct
        {
            var result = AgentEvaluations.RunPolicy(family, Owner.Policy, Owner.Metadata.Architecture, Distribution, Parameters, [LevelSeed], Seed, keepEpisodes: true);
            var (record, episode) = (result.Records[0], result.Episodes![0]);
            var cells = family.Cells!;
            return new StudioPolicyPath([.. episode.States.Select(s => cells.CellOf(level, s)).Select(c => new StudioCell(c.X, c.Y))],
                [.. episode.Actions.Select(a => a >= 0 && a < family.ActionNames.Count ? family.ActionNames[a] : "halt")], record.Ending, record.Success, record.Proxy, record.Truncated, record.Return);
        }
    }
}
