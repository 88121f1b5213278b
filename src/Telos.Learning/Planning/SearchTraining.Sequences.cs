using static TorchSharp.torch;

namespace Telos.Learning.Planning;

// A recurrent policy's replay and update: whole episodes, unrolled from the zero state.
public sealed partial class SearchTraining<TState>
{
    /// <summary>Writes environment <paramref name="env"/>'s finished episode into the episode ring, in step order, with its discounted returns; returns its undiscounted return.</summary>
    private double FinishEpisodeSequence(int env)
    {
        var length = _episodeLengths[env];
        var first = env * _episodeCapacity;
        var slot = _replayNext;
        var row = slot * _episodeCapacity;
        _episodeObservations.AsSpan(first * _features, length * _features).CopyTo(_replayObservations.AsSpan(row * _features));
        _episodePolicies.AsSpan(first * _actions, length * _actions).CopyTo(_replayPolicies.AsSpan(row * _actions));
        var total = DiscountedReturns(env, length);
        _episodeReturns.AsSpan(0, length).CopyTo(_replayReturns.AsSpan(row));
        _replayLengths[slot] = length;
        _replayNext = (slot + 1) % _replaySlots;
        _replayCount = Math.Min(_replayCount + 1, _replaySlots);
        _episodeLengths[env] = 0;
        return total;
    }

    /// <summary>
    /// U gradient steps, each on K episodes drawn uniformly (with replacement) from the ring, laid out time-major
    /// <c>[L, K]</c> and unrolled from the zero state; the losses average over the real steps (the mask).
    /// </summary>
    private Dictionary<string, double> UpdateSequences()
    {
        var s = _settings;
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
        var (steps, k) = (_episodeCapacity, _sequences);
        for (var update = 0; update < s.UpdatesPerIteration; update++)
        {
            Array.Clear(_batchObservations);
            Array.Clear(_batchPolicies);
            Array.Clear(_batchReturns);
            Array.Clear(_batchMask);
            for (var column = 0; column < k; column++)
            {
                var slot = _replayOrder.NextInt(_replayCount);
                var first = slot * steps;
                for (var t = 0; t < _replayLengths[slot]; t++)
                {
                    var cell = (t * k) + column;
                    _replayObservations.AsSpan((first + t) * _features, _features).CopyTo(_batchObservations.AsSpan(cell * _features, _features));
                    _replayPolicies.AsSpan((first + t) * _actions, _actions).CopyTo(_batchPolicies.AsSpan(cell * _actions, _actions));
                    _batchReturns[cell] = _replayReturns[first + t];
                    _batchMask[cell] = 1f;
                }
            }
            using var scope = NewDisposeScope();
            var output = _policy.Unroll(_batchObservationTensor, _policy.InitialState(k), zeros(steps, k));
            var realSteps = _batchMaskTensor.sum();
            var crossEntropy = _batchPolicyTensor.mul(output.Logits.log_softmax(-1)).sum(-1).neg();
            var policyLoss = crossEntropy.mul(_batchMaskTensor).sum().div(realSteps);
            var valueLoss = output.Values.sub(_batchReturnTensor).square().mul(_batchMaskTensor).sum().div(realSteps).mul(0.5);
            GradientStep(policyLoss, valueLoss, update, scalars);
        }
        return scalars;
    }
}
