using System.Runtime.InteropServices;
using TorchSharp;
using static Telos.Learning.Native.TensorMemory;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement;

/// <summary>How <see cref="RecurrentPpo{TState}"/> computes a minibatch's loss and steps the optimizer.</summary>
public enum UpdateKernel
{
    /// <summary>
    /// The loss as LibTorch ops under LibTorch's autograd (about 35 op calls forward and as many
    /// backward), <c>clip_grad_norm_</c> and TorchSharp's Adam (a chain of ops per parameter); the
    /// kernel every run before <see cref="Fused"/> existed used.
    /// </summary>
    LibTorch,

    /// <summary>
    /// The loss, its statistics and its gradient with respect to the logits and values as one
    /// custom autograd node in managed code (<see cref="PpoLoss"/>), and gradient clipping with Adam
    /// as one managed pass (<see cref="Optimization.FusedAdam"/>). The same function to float
    /// rounding as <see cref="LibTorch"/> (tested to 1e-5 and 1e-6), not bit-identical.
    /// </summary>
    Fused,
}

/// <summary>What <see cref="PpoLoss"/> needs besides the policy's outputs: the minibatch's columns of the rollout, the settings' coefficients.</summary>
/// <param name="Environments">The minibatch's environments, B of them: column b of the outputs is environment Environments[b] of the [T, E] rollout tensors.</param>
/// <param name="Actions">[T, E] int64 actions taken.</param>
/// <param name="OldLogprobs">[T, E] log π_old(a|s).</param>
/// <param name="Advantages">[T, E] GAE advantages (normalized over the minibatch here when <paramref name="NormAdv"/>).</param>
/// <param name="Returns">[T, E] advantages + values.</param>
/// <param name="OldValues">[T, E] V_old(s).</param>
/// <param name="ClipCoef">Surrogate (and value) clip ε.</param>
/// <param name="EntCoef">Entropy coefficient.</param>
/// <param name="VfCoef">Value-loss coefficient.</param>
/// <param name="NormAdv">Normalize the advantages over the minibatch, (A − mean) / (sample std + 1e-8).</param>
/// <param name="ClipVloss">Clip the value loss around the old values.</param>
public sealed record PpoLossInputs(int[] Environments, Tensor Actions, Tensor OldLogprobs, Tensor Advantages, Tensor Returns, Tensor OldValues,
    double ClipCoef, double EntCoef, double VfCoef, bool NormAdv, bool ClipVloss);

/// <summary>A minibatch's loss and the statistics CleanRL logs with it (means over the minibatch's T·B transitions).</summary>
public sealed record PpoLossValues(double Loss, double PolicyLoss, double ValueLoss, double Entropy, double OldApproxKl, double ApproxKl, double ClipFraction);

/// <summary>
/// CleanRL's PPO loss for one minibatch, pg_loss − ent_coef·entropy + vf_coef·v_loss, as one autograd
/// node over the policy's logits [T, B, A] and values [T, B]: the forward (log-softmax, the
/// clipped surrogate, the clipped value loss, the entropy, approx_kl and the clip fraction) and the
/// backward run in managed code over the tensors' memory. PyTorch's gradient conventions are kept:
/// where the two arguments of a max are equal each gets half the gradient, and a clamp passes the
/// gradient at its bounds. Sums are accumulated in double in a fixed order.
/// </summary>
public static class PpoLoss
{
    /// <summary>
    /// The loss (a 0-dim tensor, differentiable with respect to <paramref name="logits"/> and
    /// <paramref name="values"/> when autograd is on) and its statistics.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit each other or the rollout tensors, or tensors that are not float32 (int64 actions) on the CPU.</exception>
    public static (Tensor Loss, PpoLossValues Values) Compute(Tensor logits, Tensor values, PpoLossInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(inputs);
        if (logits.dim() != 3 || !values.shape.SequenceEqual(logits.shape[..2]) || logits.shape[1] != inputs.Environments.Length
            || logits.dtype != ScalarType.Float32 || values.dtype != ScalarType.Float32 || logits.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"logits [{string.Join(", ", logits.shape)}] and values [{string.Join(", ", values.shape)}] must be float32 [T, B, A] and [T, B] with B = {inputs.Environments.Length}");
        }
        var (steps, envs) = (logits.shape[0], inputs.Actions.shape[1]);
        foreach (var t in new[] { inputs.Actions, inputs.OldLogprobs, inputs.Advantages, inputs.Returns, inputs.OldValues })
        {
            if (!t.shape.SequenceEqual([steps, envs]) || t.device_type != DeviceType.CPU || !t.is_contiguous() || (t.dtype != ScalarType.Float32 && !ReferenceEquals(t, inputs.Actions)))
            {
                throw new ArgumentException($"rollout tensor {t.dtype} [{string.Join(", ", t.shape)}] must be contiguous float32 [{steps}, {envs}] on the CPU");
            }
        }
        if (inputs.Actions.dtype != ScalarType.Int64 || inputs.Environments.Any(e => e < 0 || e >= envs))
        {
            throw new ArgumentException($"actions must be int64 and the minibatch's environments in [0, {envs})");
        }
        var state = new PpoLossState();
        var outputs = is_grad_enabled() && (logits.requires_grad || values.requires_grad)
            ? PpoLossFunction.apply(logits, values, inputs, state)
            : PpoLossFunction.Forward(logits, values, inputs, state);
        return (outputs[0], state.Values!);
    }

    /// <summary>
    /// The same loss as LibTorch ops under LibTorch's autograd (<see cref="UpdateKernel.LibTorch"/>):
    /// the columns <paramref name="index"/> ([B] int64, the same environments as
    /// <paramref name="inputs"/>) of the rollout tensors, log-softmax, gather, the clipped surrogate
    /// and value loss, each statistic read back with <c>item</c>.
    /// </summary>
    public static (Tensor Loss, PpoLossValues Values) ComputeWithLibTorch(Tensor logits, Tensor values, PpoLossInputs inputs, Tensor index)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(index);
        var logProbabilities = logits.log_softmax(-1);
        var newLogprob = logProbabilities.gather(2, inputs.Actions.index_select(1, index).unsqueeze(2)).squeeze(2);
        var mbEntropy = logProbabilities.exp().mul(logProbabilities).sum(-1).neg();
        var logRatio = newLogprob.sub(inputs.OldLogprobs.index_select(1, index));
        var ratio = logRatio.exp();

        double oldApproxKl, approxKl, clipFraction;
        using (no_grad())
        {
            // http://joschu.net/blog/kl-approx.html
            oldApproxKl = logRatio.neg().mean().item<float>();
            approxKl = ratio.sub(1).sub(logRatio).mean().item<float>();
            clipFraction = ratio.sub(1).abs().gt(inputs.ClipCoef).to_type(ScalarType.Float32).mean().item<float>();
        }

        var mbAdvantages = inputs.Advantages.index_select(1, index);
        if (inputs.NormAdv)
        {
            mbAdvantages = Gae.Normalize(mbAdvantages);
        }

        // Clipped surrogate: the pessimistic one of the plain and the clipped ratio.
        var pgLoss1 = mbAdvantages.neg().mul(ratio);
        var pgLoss2 = mbAdvantages.neg().mul(ratio.clamp(1 - inputs.ClipCoef, 1 + inputs.ClipCoef));
        var pgLoss = maximum(pgLoss1, pgLoss2).mean();

        // Value loss, clipped around the rollout's values when asked.
        var mbReturns = inputs.Returns.index_select(1, index);
        Tensor vLoss;
        if (inputs.ClipVloss)
        {
            var mbValues = inputs.OldValues.index_select(1, index);
            var vLossUnclipped = values.sub(mbReturns).square();
            var vClipped = mbValues.add(values.sub(mbValues).clamp(-inputs.ClipCoef, inputs.ClipCoef));
            var vLossClipped = vClipped.sub(mbReturns).square();
            vLoss = maximum(vLossUnclipped, vLossClipped).mean().mul(0.5);
        }
        else
        {
            vLoss = values.sub(mbReturns).square().mean().mul(0.5);
        }

        var entropyLoss = mbEntropy.mean();
        var loss = pgLoss.sub(entropyLoss.mul(inputs.EntCoef)).add(vLoss.mul(inputs.VfCoef));
        return (loss, new PpoLossValues(loss.item<float>(), pgLoss.item<float>(), vLoss.item<float>(), entropyLoss.item<float>(), oldApproxKl, approxKl, clipFraction));
    }
}

/// <summary>What the forward keeps for the backward, per transition: softmax, log-softmax, the surrogate's and value loss's derivatives.</summary>
internal sealed class PpoLossState
{
    public float[] Probabilities = [];     // [N, A]
    public float[] LogProbabilities = [];  // [N, A]
    public float[] SurrogateGrad = [];     // [N] d pg_i / d log π(a_i)
    public float[] ValueGrad = [];         // [N] d v_loss_i / d v_i
    public long[] Actions = [];            // [N]
    public double EntCoef;
    public double VfCoef;
    public PpoLossValues? Values;
}

internal sealed class PpoLossFunction : autograd.MultiTensorFunction<PpoLossFunction>
{
    public override string Name => "PpoLoss";

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (logits, values, inputs, state) = ((Tensor)vars[0], (Tensor)vars[1], (PpoLossInputs)vars[2], (PpoLossState)vars[3]);
        ctx.save_data("state", state);
        ctx.save_data("shape", logits.shape);
        return Forward(logits, values, inputs, state);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var state = (PpoLossState)ctx.get_data("state");
        var shape = (long[])ctx.get_data("shape");
        var upstream = grad_outputs[0].item<float>();
        var (n, a) = (state.Actions.Length, (int)shape[2]);
        var gradLogits = empty(shape);
        var gradValues = empty(shape[0], shape[1]);
        var dLogits = Floats(gradLogits);
        var dValues = Floats(gradValues);
        var entropyScale = (float)(upstream * state.EntCoef / n);
        var surrogateScale = upstream / n;
        var valueScale = (float)(upstream * state.VfCoef * 0.5 / n);
        for (var i = 0; i < n; i++)
        {
            var p = state.Probabilities.AsSpan(i * a, a);
            var logp = state.LogProbabilities.AsSpan(i * a, a);
            var d = dLogits.Slice(i * a, a);
            // d loss / d log π_j: the surrogate through the action's log-probability, minus ent_coef times
            // d H / d log π_j = −(π_j log π_j + π_j); then log-softmax's backward, d − π·Σd.
            var sum = 0f;
            for (var j = 0; j < a; j++)
            {
                var dj = entropyScale * (p[j] * logp[j] + p[j]);
                if (j == state.Actions[i])
                {
                    dj += surrogateScale * state.SurrogateGrad[i];
                }
                d[j] = dj;
                sum += dj;
            }
            for (var j = 0; j < a; j++)
            {
                d[j] -= p[j] * sum;
            }
            dValues[i] = valueScale * state.ValueGrad[i];
        }
        return [gradLogits, gradValues, null!, null!];
    }

    /// <summary>The loss without autograd; fills <paramref name="state"/> (its statistics and what a backward needs).</summary>
    internal static List<Tensor> Forward(Tensor logits, Tensor values, PpoLossInputs inputs, PpoLossState state)
    {
        using var noGrad = no_grad();
        using var logitsData = logits.detach().contiguous();
        using var valuesData = values.detach().contiguous();
        var (steps, batch, actions) = ((int)logits.shape[0], (int)logits.shape[1], (int)logits.shape[2]);
        var envs = (int)inputs.Actions.shape[1];
        var n = steps * batch;
        if (state.Actions.Length != n || state.Probabilities.Length != n * actions)
        {
            (state.Probabilities, state.LogProbabilities) = (new float[n * actions], new float[n * actions]);
            (state.SurrogateGrad, state.ValueGrad, state.Actions) = (new float[n], new float[n], new long[n]);
        }
        (state.EntCoef, state.VfCoef) = (inputs.EntCoef, inputs.VfCoef);
        var l = Floats(logitsData);
        var v = Floats(valuesData);
        var takenAll = MemoryMarshal.Cast<byte, long>(inputs.Actions.bytes);
        var oldLogprobAll = Floats(inputs.OldLogprobs);
        var advantageAll = Floats(inputs.Advantages);
        var returnAll = Floats(inputs.Returns);
        var oldValueAll = Floats(inputs.OldValues);
        int Column(int i) => i / batch * envs + inputs.Environments[i % batch];

        // Advantage normalization over the minibatch: mean and sample standard deviation, as Tensor.std().
        double mean = 0;
        var denominator = 1f;
        if (inputs.NormAdv)
        {
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                sum += advantageAll[Column(i)];
            }
            mean = sum / n;
            var squares = 0.0;
            for (var i = 0; i < n; i++)
            {
                var deviation = advantageAll[Column(i)] - mean;
                squares += deviation * deviation;
            }
            var std = n > 1 ? Math.Sqrt(squares / (n - 1)) : double.NaN;
            denominator = (float)std + 1e-8f;
        }

        var (clip, lower, upper) = ((float)inputs.ClipCoef, (float)(1 - inputs.ClipCoef), (float)(1 + inputs.ClipCoef));
        double pgSum = 0, valueSum = 0, entropySum = 0, oldKlSum = 0, klSum = 0;
        var clipped = 0;
        for (var i = 0; i < n; i++)
        {
            var column = Column(i);
            var row = l.Slice(i * actions, actions);
            var p = state.Probabilities.AsSpan(i * actions, actions);
            var logp = state.LogProbabilities.AsSpan(i * actions, actions);
            var max = row[0];
            for (var j = 1; j < actions; j++)
            {
                max = MathF.Max(max, row[j]);
            }
            var total = 0f;
            for (var j = 0; j < actions; j++)
            {
                total += MathF.Exp(row[j] - max);
            }
            var logTotal = MathF.Log(total);
            var entropy = 0f;
            for (var j = 0; j < actions; j++)
            {
                logp[j] = row[j] - max - logTotal;
                p[j] = MathF.Exp(logp[j]);
                entropy -= p[j] * logp[j];
            }
            var taken = takenAll[column];
            state.Actions[i] = taken;
            var logRatio = logp[(int)taken] - oldLogprobAll[column];
            var ratio = MathF.Exp(logRatio);
            var advantage = inputs.NormAdv ? (advantageAll[column] - (float)mean) / denominator : advantageAll[column];
            var clampedRatio = Math.Clamp(ratio, lower, upper);
            var (plain, bounded) = (-advantage * ratio, -advantage * clampedRatio);
            // d max(plain, bounded) / d ratio, PyTorch's way: half to each side of a tie; the clamp passes inside [lower, upper].
            var inside = ratio >= lower && ratio <= upper;
            var dRatio = plain > bounded ? -advantage : plain < bounded ? (inside ? -advantage : 0f) : 0.5f * -advantage + (inside ? 0.5f * -advantage : 0f);
            state.SurrogateGrad[i] = dRatio * ratio;
            pgSum += MathF.Max(plain, bounded);
            entropySum += entropy;
            oldKlSum += -logRatio;
            klSum += ratio - 1 - logRatio;
            clipped += MathF.Abs(ratio - 1) > clip ? 1 : 0;

            var (value, target, oldValue) = (v[i], returnAll[column], oldValueAll[column]);
            var unclipped = (value - target) * (value - target);
            if (inputs.ClipVloss)
            {
                var difference = value - oldValue;
                var valueInside = difference >= -clip && difference <= clip;
                var clippedValue = oldValue + Math.Clamp(difference, -clip, clip);
                var clippedLoss = (clippedValue - target) * (clippedValue - target);
                var (dPlain, dClipped) = (2 * (value - target), valueInside ? 2 * (clippedValue - target) : 0f);
                state.ValueGrad[i] = unclipped > clippedLoss ? dPlain : unclipped < clippedLoss ? dClipped : 0.5f * dPlain + 0.5f * dClipped;
                valueSum += MathF.Max(unclipped, clippedLoss);
            }
            else
            {
                state.ValueGrad[i] = 2 * (value - target);
                valueSum += unclipped;
            }
        }
        var (policyLoss, valueLoss, entropyMean) = (pgSum / n, 0.5 * valueSum / n, entropySum / n);
        var loss = policyLoss - inputs.EntCoef * entropyMean + inputs.VfCoef * valueLoss;
        state.Values = new PpoLossValues(loss, policyLoss, valueLoss, entropyMean, oldKlSum / n, klSum / n, clipped / (double)n);
        return [tensor((float)loss)];
    }

}
