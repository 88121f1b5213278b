using System.Globalization;
using Telos.Learning.Runs;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement;

/// <summary>What a PPO checkpoint records besides its tensors (the sidecar's metadata).</summary>
/// <param name="Iteration">Iterations done.</param>
/// <param name="GlobalStep">Environment steps taken.</param>
/// <param name="AdamSteps">Adam's step count per parameter.</param>
public sealed record PpoProgress(int Iteration, long GlobalStep, IReadOnlyList<long> AdamSteps);

/// <summary>
/// Training stopped because a loss or gradient norm was NaN or infinite. The update that went bad was
/// not applied: the policy and Adam hold what the minibatches before it made of them.
/// </summary>
public sealed class PpoDivergedException : Exception
{
    /// <summary>A divergence at <paramref name="iteration"/> (1-based), <paramref name="epoch"/> and <paramref name="minibatch"/> (both 1-based).</summary>
    public PpoDivergedException(string quantity, double value, int iteration, int epoch, int minibatch)
        : base(string.Create(CultureInfo.InvariantCulture, $"{quantity} is {value} at iteration {iteration}, epoch {epoch}, minibatch {minibatch}; training stopped before that update"))
    {
        (Iteration, Epoch, Minibatch) = (iteration, epoch, minibatch);
    }

    public PpoDivergedException()
    {
    }

    public PpoDivergedException(string message)
        : base(message)
    {
    }

    public PpoDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The iteration (1-based) whose update went bad.</summary>
    public int Iteration { get; }

    /// <summary>The epoch (1-based) within it.</summary>
    public int Epoch { get; }

    /// <summary>The minibatch (1-based) within the epoch.</summary>
    public int Minibatch { get; }
}

// Checkpointing and the finiteness check, kept apart from the rollout and the update.
public sealed partial class RecurrentPpo<TState>
{
    /// <summary>
    /// Everything the next iteration reads, taken between iterations: <c>policy.*</c> (weights),
    /// <c>adam.{i}.exp_avg|exp_avg_sq</c>, <c>rng.actions</c> (the sampling generator's state),
    /// <c>rng.minibatches</c> (the minibatch order's four words), <c>envs.*</c> (the environments'
    /// levels, states, step counts and reset stream), <c>rollout.hidden|cell</c> (the recurrent state
    /// carried into the next rollout), <c>rollout.next_start</c> and the running episodes'
    /// <c>rollout.episode_return|episode_length</c>; plus <see cref="PpoProgress"/> for the metadata.
    /// The tensors live in the caller's dispose scope (some are views of live state: save them before
    /// the next <see cref="Step"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The environments' state cannot be saved.</exception>
    public (Dictionary<string, Tensor> Tensors, PpoProgress Progress) CaptureCheckpoint()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in _policy.named_parameters())
        {
            tensors["policy." + name] = parameter.detach();
        }
        var adamSteps = _fusedOptimizer is not null ? AdamCheckpoint.Capture(_fusedOptimizer, "adam.", tensors) : AdamCheckpoint.Capture(_optimizer!, "adam.", tensors);
        tensors["rng.actions"] = _actionGenerator.get_state();
        tensors["rng.minibatches"] = tensor(Array.ConvertAll(_minibatchOrder.State(), w => unchecked((long)w)));
        BatchedEnvironmentTensors.Capture(_envs, "envs.", tensors);
        if (_state.Hidden.numel() > 0)
        {
            tensors["rollout.hidden"] = _state.Hidden.detach();
            tensors["rollout.cell"] = _state.Cell.detach();
        }
        tensors["rollout.next_start"] = _nextStart.detach();
        tensors["rollout.episode_return"] = tensor(_episodeReturn);
        tensors["rollout.episode_length"] = tensor(_episodeLength);
        return (tensors, new PpoProgress(_iteration, _globalStep, adamSteps));
    }

    /// <summary>
    /// Puts back what <see cref="CaptureCheckpoint"/> returned, on a trainer built with the same
    /// settings, policy options and environments; the next <see cref="Step"/> then does what the
    /// uninterrupted run's did.
    /// </summary>
    /// <param name="tensors">The checkpoint's tensors.</param>
    /// <param name="progress">Its metadata.</param>
    /// <param name="source">The checkpoint file, for messages.</param>
    /// <exception cref="TelosInputException">A tensor is missing or of another shape, or the progress does not fit the settings; one line naming <paramref name="source"/>.</exception>
    public void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> tensors, PpoProgress progress, string source)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(progress);
        Tensor Get(string name, long[]? shape = null, ScalarType? type = null) => CheckpointTensors.Get(tensors, name, source, shape, type);
        var s = _settings;
        if (progress.Iteration < 0 || progress.Iteration > s.NumIterations || progress.GlobalStep != (long)progress.Iteration * s.BatchSize)
        {
            throw new TelosInputException($"{source}: iteration {progress.Iteration} at step {progress.GlobalStep} does not fit {s.NumIterations} iterations of {s.BatchSize} steps");
        }
        var e = s.NumEnvs;
        // Read and check the tensors before anything is copied.
        var parameters = _policy.named_parameters().Select(p => (p.parameter, Get("policy." + p.name, p.parameter.shape, p.parameter.dtype))).ToArray();
        var actions = Get("rng.actions", type: ScalarType.Byte);
        var orderWords = Array.ConvertAll(Get("rng.minibatches", [4], ScalarType.Int64).data<long>().ToArray(), w => unchecked((ulong)w));
        if (orderWords.All(w => w == 0))
        {
            throw new TelosInputException($"{source}: tensor 'rng.minibatches' is all zero, not a stream's state");
        }
        var order = Rng.FromState(orderWords);
        var envState = BatchedEnvironmentTensors.Read(tensors, "envs.", source);
        var state = _state.Hidden.numel() > 0
            ? (Get("rollout.hidden", _state.Hidden.shape, _state.Hidden.dtype), Get("rollout.cell", _state.Cell.shape, _state.Cell.dtype))
            : (null, null);
        var nextStart = Get("rollout.next_start", [e], ScalarType.Float32);
        var episodeReturn = Get("rollout.episode_return", [e], ScalarType.Float64).data<double>().ToArray();
        var episodeLength = Get("rollout.episode_length", [e], ScalarType.Int32).data<int>().ToArray();
        try
        {
            _envs.RestoreState(envState);
        }
        catch (TelosInputException error)
        {
            throw new TelosInputException($"{source}: {error.Message}", error);
        }

        using (no_grad())
        {
            foreach (var (parameter, saved) in parameters)
            {
                parameter.copy_(saved);
            }
            if (state is (Tensor hidden, Tensor cell))
            {
                _state.Hidden.copy_(hidden);
                _state.Cell.copy_(cell);
            }
            _nextStart.copy_(nextStart);
        }
        if (_fusedOptimizer is not null)
        {
            AdamCheckpoint.Restore(_fusedOptimizer, "adam.", name => Get(name), progress.AdamSteps, source);
        }
        else
        {
            AdamCheckpoint.Restore(_optimizer!, "adam.", name => Get(name), progress.AdamSteps, source);
        }
        _actionGenerator.set_state(actions);
        _minibatchOrder = order;
        episodeReturn.CopyTo(_episodeReturn, 0);
        episodeLength.CopyTo(_episodeLength, 0);
        CopyInto(_nextObservation, _envs.Observations);
        _iteration = progress.Iteration;
        _globalStep = progress.GlobalStep;
    }

    /// <summary>Throws <see cref="PpoDivergedException"/> when <paramref name="value"/> is NaN or infinite.</summary>
    private void RequireFinite(string quantity, double value, int epoch, int minibatch)
    {
        if (!double.IsFinite(value))
        {
            throw new PpoDivergedException(quantity, value, _iteration, epoch + 1, minibatch + 1);
        }
    }
}
