using Telos.Learning.Reinforcement;
using Telos.Learning.Runs;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

// Checkpointing, kept apart from the search steps and the update.
public sealed partial class SearchTraining<TState>
{
    /// <summary>
    /// Everything the next iteration reads, taken between iterations: <c>policy.*</c> (weights),
    /// <c>adam.{i}.exp_avg|exp_avg_sq</c>, <c>rng.replay</c> (the replay sampling stream's four words),
    /// <c>envs.*</c> (levels, states, step counts, reset stream), <c>replay.observations|policies|returns</c>
    /// and <c>replay.cursor</c> (count, next row; for a recurrent policy count and next episode, with <c>replay.lengths</c>),
    /// and the running episodes' <c>episodes.observations|policies|rewards|lengths</c> (and a recurrent policy's running
    /// states <c>episodes.hidden|cell</c>); plus the progress (iteration, step, Adam's
    /// step counts) for the sidecar. The search's noise derives from the seed and the step, so it needs no state.
    /// The tensors live in the caller's dispose scope (some view live state: save them before the next <see cref="Step"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The environments' state cannot be saved.</exception>
    public (Dictionary<string, Tensor> Tensors, PpoProgress Progress) CaptureCheckpoint()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in _policy.named_parameters())
        {
            tensors["policy." + name] = parameter.detach();
        }
        var adamSteps = AdamCheckpoint.Capture(_optimizer, "adam.", tensors);
        tensors["rng.replay"] = tensor(Array.ConvertAll(_replayOrder.State(), w => unchecked((long)w)));
        BatchedEnvironmentTensors.Capture(_envs, "envs.", tensors);
        tensors["replay.observations"] = tensor(_replayObservations);
        tensors["replay.policies"] = tensor(_replayPolicies);
        tensors["replay.returns"] = tensor(_replayReturns);
        tensors["replay.cursor"] = tensor(new long[] { _replayCount, _replayNext });
        tensors["episodes.observations"] = tensor(_episodeObservations);
        tensors["episodes.policies"] = tensor(_episodePolicies);
        tensors["episodes.rewards"] = tensor(_episodeRewards);
        tensors["episodes.lengths"] = tensor(_episodeLengths);
        if (_recurrent)
        {
            tensors["replay.lengths"] = tensor(_replayLengths);
            tensors["episodes.hidden"] = _runningHidden!.detach().clone();
            tensors["episodes.cell"] = _runningCell!.detach().clone();
        }
        return (tensors, new PpoProgress(_iteration, _globalStep, adamSteps));
    }

    /// <summary>
    /// Puts back what <see cref="CaptureCheckpoint"/> returned, on a trainer built with the same settings,
    /// policy options and environments; the next <see cref="Step"/> then does what the uninterrupted run's did.
    /// </summary>
    /// <exception cref="TelosInputException">A tensor is missing or of another shape, or the progress does not fit the settings; one line naming <paramref name="source"/>. Nothing is changed then.</exception>
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
        // Read and check every tensor before anything is copied.
        var parameters = _policy.named_parameters().Select(p => (p.parameter, Get("policy." + p.name, p.parameter.shape, p.parameter.dtype))).ToArray();
        var orderWords = Array.ConvertAll(Get("rng.replay", [4], ScalarType.Int64).data<long>().ToArray(), w => unchecked((ulong)w));
        if (orderWords.All(w => w == 0))
        {
            throw new TelosInputException($"{source}: tensor 'rng.replay' is all zero, not a stream's state");
        }
        var replayObservations = Get("replay.observations", [_replayObservations.Length], ScalarType.Float32).data<float>().ToArray();
        var replayPolicies = Get("replay.policies", [_replayPolicies.Length], ScalarType.Float32).data<float>().ToArray();
        var replayReturns = Get("replay.returns", [_replayReturns.Length], ScalarType.Float32).data<float>().ToArray();
        var cursor = Get("replay.cursor", [2], ScalarType.Int64).data<long>().ToArray();
        if (cursor[0] < 0 || cursor[0] > _replaySlots || cursor[1] < 0 || cursor[1] >= _replaySlots)
        {
            throw new TelosInputException($"{source}: tensor 'replay.cursor' [{cursor[0]}, {cursor[1]}] does not fit a buffer of {_replaySlots}");
        }
        var replayLengths = _recurrent ? Get("replay.lengths", [_replaySlots], ScalarType.Int32).data<int>().ToArray() : [];
        if (replayLengths.Any(l => l < 0 || l > _episodeCapacity))
        {
            throw new TelosInputException($"{source}: tensor 'replay.lengths' holds a length outside 0..{_episodeCapacity}");
        }
        long[] stateShape = [s.NumEnvs, _policy.StateSize];
        var runningHidden = _recurrent ? Get("episodes.hidden", stateShape, ScalarType.Float32) : null;
        var runningCell = _recurrent ? Get("episodes.cell", stateShape, ScalarType.Float32) : null;
        var episodeObservations = Get("episodes.observations", [_episodeObservations.Length], ScalarType.Float32).data<float>().ToArray();
        var episodePolicies = Get("episodes.policies", [_episodePolicies.Length], ScalarType.Float32).data<float>().ToArray();
        var episodeRewards = Get("episodes.rewards", [_episodeRewards.Length], ScalarType.Float32).data<float>().ToArray();
        var episodeLengths = Get("episodes.lengths", [_episodeLengths.Length], ScalarType.Int32).data<int>().ToArray();
        if (episodeLengths.Any(l => l < 0 || l >= _episodeCapacity))
        {
            throw new TelosInputException($"{source}: tensor 'episodes.lengths' holds a length outside 0..{_episodeCapacity - 1}");
        }
        var envState = BatchedEnvironmentTensors.Read(tensors, "envs.", source);
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
            _runningHidden?.copy_(runningHidden!);
            _runningCell?.copy_(runningCell!);
        }
        AdamCheckpoint.Restore(_optimizer, "adam.", name => Get(name), progress.AdamSteps, source);
        _replayOrder = Rng.FromState(orderWords);
        replayObservations.CopyTo(_replayObservations, 0);
        replayPolicies.CopyTo(_replayPolicies, 0);
        replayReturns.CopyTo(_replayReturns, 0);
        replayLengths.CopyTo(_replayLengths, 0);
        (_replayCount, _replayNext) = ((int)cursor[0], (int)cursor[1]);
        episodeObservations.CopyTo(_episodeObservations, 0);
        episodePolicies.CopyTo(_episodePolicies, 0);
        episodeRewards.CopyTo(_episodeRewards, 0);
        episodeLengths.CopyTo(_episodeLengths, 0);
        _iteration = progress.Iteration;
        _globalStep = progress.GlobalStep;
    }
}
