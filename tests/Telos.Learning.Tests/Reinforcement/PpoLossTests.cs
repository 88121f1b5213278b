using Telos.Learning.Reinforcement;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class PpoLossTests
{
    private const int Steps = 6;
    private const int Envs = 5;
    private const int Actions = 4;
    private static readonly int[] Minibatch = [3, 0, 4];

    /// <summary>A [T, E] rollout whose old log-probabilities and values are perturbed so that some ratios and values fall outside the clip (0.2) and some inside.</summary>
    private static (Tensor Logits, Tensor Values, PpoLossInputs Inputs) Case(bool normAdv, bool clipVloss)
    {
        using var generator = new Generator(11);
        var batch = Minibatch.Length;
        var logits = randn([Steps, batch, Actions], generator: generator).requires_grad_();
        var values = randn([Steps, batch], generator: generator).requires_grad_();
        var actions = randint(0, Actions, [Steps, Envs], generator: generator, dtype: ScalarType.Int64);
        var oldLogprobs = randn([Steps, Envs], generator: generator).mul(0.3);
        var advantages = randn([Steps, Envs], generator: generator).mul(2).add(0.5);
        var returns = randn([Steps, Envs], generator: generator);
        var oldValues = randn([Steps, Envs], generator: generator);
        using (no_grad())
        {
            // Old log-probabilities near the new ones (ratios around 1, some beyond 1 ± 0.2), old values near the new ones (some beyond ± 0.2).
            var index = tensor(Minibatch.Select(e => (long)e).ToArray());
            var taken = logits.log_softmax(-1).gather(2, actions.index_select(1, index).unsqueeze(2)).squeeze(2);
            oldLogprobs.index_copy_(1, index, taken.add(oldLogprobs.index_select(1, index)));
            oldValues.index_copy_(1, index, values.add(oldValues.index_select(1, index).mul(0.3)));
        }
        return (logits, values, new PpoLossInputs(Minibatch, actions, oldLogprobs, advantages, returns, oldValues,
            ClipCoef: 0.2, EntCoef: 0.05, VfCoef: 0.5, NormAdv: normAdv, ClipVloss: clipVloss));
    }

    /// <summary>
    /// The managed loss node against the same loss in LibTorch ops (UpdateKernel.LibTorch's): the loss,
    /// every statistic and the gradients of the logits and values agree to 1e-6, with and without
    /// advantage normalization and value clipping, on a minibatch where both clips cut some
    /// transitions and not others.
    /// </summary>
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void MatchesTheLossInLibTorchOps(bool normAdv, bool clipVloss)
    {
        using var scope = NewDisposeScope();
        var (logits, values, inputs) = Case(normAdv, clipVloss);
        var index = tensor(Minibatch.Select(e => (long)e).ToArray());

        var (expectedLoss, expected) = PpoLoss.ComputeWithLibTorch(logits, values, inputs, index);
        expectedLoss.backward();
        var (expectedLogitsGrad, expectedValuesGrad) = (logits.grad!.clone(), values.grad!.clone());
        logits.grad!.zero_();
        values.grad!.zero_();

        var (loss, actual) = PpoLoss.Compute(logits, values, inputs);
        loss.backward();

        Assert.InRange(expected.ClipFraction, 0.05, 0.95);
        Assert.Equal(expected.ClipFraction, actual.ClipFraction, 6);
        foreach (var (e, a) in new[] { (expected.Loss, actual.Loss), (expected.PolicyLoss, actual.PolicyLoss), (expected.ValueLoss, actual.ValueLoss),
            (expected.Entropy, actual.Entropy), (expected.OldApproxKl, actual.OldApproxKl), (expected.ApproxKl, actual.ApproxKl) })
        {
            Assert.InRange(Math.Abs(e - a), 0, 1e-6 * Math.Max(1, Math.Abs(e)));
        }
        Assert.Equal(expected.Loss, loss.item<float>(), 5);
        Assert.InRange(logits.grad!.sub(expectedLogitsGrad).abs().max().item<float>(), 0, 1e-6);
        Assert.InRange(values.grad!.sub(expectedValuesGrad).abs().max().item<float>(), 0, 1e-6);
        // The gradients are not trivially zero.
        Assert.True(expectedLogitsGrad.abs().max().item<float>() > 1e-3 && expectedValuesGrad.abs().max().item<float>() > 1e-3);
    }

    /// <summary>The same inputs give the same bits, and without autograd no graph is built.</summary>
    [Fact]
    public void IsDeterministicAndBuildsNoGraphWithoutAutograd()
    {
        using var scope = NewDisposeScope();
        var (logits, values, inputs) = Case(true, true);
        var (first, firstValues) = PpoLoss.Compute(logits, values, inputs);
        var (second, secondValues) = PpoLoss.Compute(logits, values, inputs);
        Assert.Equal(firstValues, secondValues);
        Assert.Equal(first.item<float>(), second.item<float>());
        using (no_grad())
        {
            var (plain, _) = PpoLoss.Compute(logits, values, inputs);
            Assert.False(plain.requires_grad);
        }
    }
}
