using System.Globalization;
using System.Text.Json;
using Telos.Environments;
using Telos.Lab.Runs;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Lab.Reinforcement;

/// <summary>
/// The sidecar metadata of a <c>ppo</c> checkpoint: what network the <c>policy.*</c> tensors belong to
/// (kind and sizes, observation shape, actions), what it was trained on, and where training stood.
/// </summary>
/// <param name="Architecture">The policy's kind and sizes (<c>{"kind": "lstm", "conv_channels": 16, ...}</c>).</param>
/// <param name="Observation">[C, H, W] of the observations it takes.</param>
/// <param name="Actions">A, the number of actions.</param>
/// <param name="Env">The training distribution.</param>
/// <param name="Parameters">The distribution parameters given for training (absent ones took the family's defaults).</param>
/// <param name="Training">Iteration, step and Adam's step counts.</param>
public sealed record PolicyCheckpointMetadata(PolicyOptions Architecture, int[] Observation, int Actions, string Env, IReadOnlyDictionary<string, int> Parameters, PpoProgress Training)
{
    /// <summary>The observation shape.</summary>
    public ObservationShape ObservationShape => new(Observation[0], Observation[1], Observation[2]);
}

/// <summary>Finds and loads the policies <c>ppo</c> runs checkpoint, for evaluation and resume.</summary>
public static class PolicyCheckpoints
{
    /// <summary>
    /// The checkpoint <paramref name="agent"/> names: a checkpoint file (<c>step-N.safetensors</c> or its
    /// <c>step-N.json</c> sidecar), a run directory or a run id (its newest checkpoint with a readable sidecar).
    /// </summary>
    /// <exception cref="TelosInputException">No such file, run or checkpoint; one line.</exception>
    public static CheckpointInfo Find(RunStore store, string agent)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(agent);
        return File.Exists(agent) || Directory.Exists(agent) ? FindAt(agent) : Newest(store.Find(agent).Directory, agent);
    }

    /// <summary>
    /// The checkpoint at <paramref name="path"/>: a checkpoint file (<c>step-N.safetensors</c> or its <c>step-N.json</c>
    /// sidecar) or a run directory (its newest checkpoint with a readable sidecar); no run store is consulted.
    /// </summary>
    /// <exception cref="TelosInputException">No such file or directory, not a checkpoint, or a run without one; one line.</exception>
    public static CheckpointInfo FindAt(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var agent = path;
        if (File.Exists(agent))
        {
            var full = Path.GetFullPath(agent);
            var sidecar = full.EndsWith(".safetensors", StringComparison.Ordinal) ? full[..^".safetensors".Length] + ".json" : full;
            var scanned = CheckpointFiles.Scan(Path.GetDirectoryName(sidecar)!).FirstOrDefault(c => c.SidecarPath == sidecar)
                ?? throw new TelosInputException($"{agent}: not a checkpoint (expected step-NNNNNNNNNN.safetensors or its .json sidecar)");
            return scanned.Info ?? throw new TelosInputException(scanned.Problem!);
        }
        if (!Directory.Exists(agent))
        {
            throw new TelosInputException($"{agent}: no such checkpoint file or run directory");
        }
        return Newest(Path.GetFullPath(agent), agent);
    }

    /// <summary>The newest checkpoint of the run in <paramref name="directory"/>; the error names the run as <paramref name="agent"/>.</summary>
    private static CheckpointInfo Newest(string directory, string agent) =>
        RunFiles.Checkpoints(directory).LastOrDefault()
            ?? throw new TelosInputException($"{agent}: run has no checkpoint in {Path.Combine(directory, "checkpoints")}");

    /// <summary>
    /// Saves <paramref name="trainer"/>'s state (policy, value head, optimizer, progress) as a checkpoint of <paramref name="run"/> at its
    /// global step, with the sidecar <see cref="Load"/> reads: <paramref name="architecture"/>, the observation shape and actions of
    /// <paramref name="policy"/>, and the training distribution <paramref name="env"/> with <paramref name="parameters"/>.
    /// </summary>
    public static CheckpointInfo Save<TState>(RunDirectory run, ActorCritic policy, RecurrentPpo<TState> trainer, PolicyOptions architecture, string env, DistributionParameters parameters)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(parameters);
        using var scope = NewDisposeScope();
        var (tensors, progress) = trainer.CaptureCheckpoint();
        var o = policy.Observation;
        var values = parameters.Names.ToDictionary(n => n, n => parameters[n]!.Value, StringComparer.Ordinal);
        return run.SaveCheckpoint(trainer.GlobalStep, tensors, new PolicyCheckpointMetadata(architecture, [o.Channels, o.Height, o.Width], policy.Actions, env, values, progress));
    }

    /// <summary>Reads a ppo checkpoint's metadata and builds its policy with the saved weights; the caller disposes it.</summary>
    /// <exception cref="TelosInputException">
    /// A damaged file, metadata that is not a ppo checkpoint's, or tensors that are not the named kind's
    /// (one line naming the file and the first tensor that does not fit).
    /// </exception>
    public static (ActorCritic Policy, PolicyCheckpointMetadata Metadata) Load(CheckpointInfo checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var loaded = CheckpointFiles.Load(checkpoint);
        var metadata = Metadata(loaded);
        var policy = ActorCritic.Create(metadata.ObservationShape, metadata.Actions, metadata.Architecture, seed: 0);
        try
        {
            CopyPolicy(policy, loaded.Tensors, metadata.Architecture, checkpoint.TensorPath);
        }
        catch
        {
            policy.Dispose();
            throw;
        }
        return (policy, metadata);
    }

    /// <summary>The metadata of a ppo checkpoint, checked.</summary>
    /// <exception cref="TelosInputException">Missing or ill-typed fields, naming the sidecar.</exception>
    public static PolicyCheckpointMetadata Metadata(LoadedCheckpoint loaded)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var metadata = loaded.MetadataAs<PolicyCheckpointMetadata>();
        var source = loaded.Info.SidecarPath;
        if (metadata.Architecture is null || metadata.Training is null || metadata.Env is null || metadata.Parameters is null)
        {
            throw new TelosInputException($"{source}: not a ppo checkpoint (needs architecture, observation, actions, env, parameters, training)");
        }
        if (metadata.Observation is not { Length: 3 } o || o.Any(d => d < 1) || metadata.Actions < 1)
        {
            throw new TelosInputException($"{source}: 'observation' must be [C, H, W] of positive sizes and 'actions' positive");
        }
        try
        {
            metadata.Architecture.Validate();
        }
        catch (TelosInputException e)
        {
            throw new TelosInputException($"{source}: {e.Message}", e);
        }
        return metadata;
    }

    /// <summary>Refuses a checkpoint whose policy is not the one <paramref name="expected"/> describes.</summary>
    /// <exception cref="TelosInputException">Another kind or other sizes, naming both.</exception>
    public static void RequireArchitecture(PolicyCheckpointMetadata metadata, PolicyOptions expected, string source)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(expected);
        if (metadata.Architecture != expected)
        {
            throw new TelosInputException($"{source}: checkpoint holds a {Describe(metadata.Architecture)} policy; expected a {Describe(expected)} one");
        }
    }

    /// <summary>"lstm (conv_channels 16, features 128, lstm_size 128)".</summary>
    public static string Describe(PolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sizes = typeof(PolicyOptions).GetProperties()
            .Where(p => p.Name != nameof(PolicyOptions.Kind))
            .Select(p => $"{JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)} {Convert.ToString(p.GetValue(options), CultureInfo.InvariantCulture)}");
        return $"{options.Kind.ToString().ToLowerInvariant()} ({string.Join(", ", sizes)})";
    }

    /// <summary>
    /// Copies the <c>policy.*</c> tensors into <paramref name="policy"/>. They must be exactly its
    /// parameters, with their shapes: a checkpoint of another kind is refused here, naming the first
    /// missing, extra or misshapen tensor.
    /// </summary>
    /// <exception cref="TelosInputException">The tensors do not fit the policy.</exception>
    public static void CopyPolicy(ActorCritic policy, IReadOnlyDictionary<string, Tensor> tensors, PolicyOptions architecture, string source)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(architecture);
        var kind = architecture.Kind.ToString().ToLowerInvariant();
        var parameters = policy.named_parameters().ToDictionary(p => "policy." + p.name, p => p.parameter, StringComparer.Ordinal);
        var missing = parameters.Keys.FirstOrDefault(name => !tensors.ContainsKey(name));
        var extra = tensors.Keys.FirstOrDefault(name => name.StartsWith("policy.", StringComparison.Ordinal) && !parameters.ContainsKey(name));
        if (missing is not null || extra is not null)
        {
            throw new TelosInputException($"{source}: the tensors are not a {kind} policy's ({(missing is not null ? $"no '{missing}'" : $"unexpected '{extra}'")}); the sidecar names the wrong kind or the file is another network's");
        }
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors[name].shape.SequenceEqual(parameter.shape) || tensors[name].dtype != parameter.dtype)
            {
                throw new TelosInputException($"{source}: tensor '{name}' is {tensors[name].dtype} [{string.Join(", ", tensors[name].shape)}]; a {Describe(architecture)} policy has {parameter.dtype} [{string.Join(", ", parameter.shape)}]");
            }
        }
        using var noGrad = no_grad();
        foreach (var (name, parameter) in parameters)
        {
            parameter.copy_(tensors[name]);
        }
    }
}
