using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Losses of P problems over steps 0..T under one optimizer: <c>Loss[t, p]</c> = f_t(θ_t) of problem p.
/// Non-finite entries (a diverged run) are kept as they are.
/// </summary>
public sealed class LossCurves
{
    public LossCurves(string optimizer, float[,] loss)
    {
        Optimizer = optimizer;
        Loss = loss;
    }

    /// <summary>The optimizer's name.</summary>
    public string Optimizer { get; }

    /// <summary>Losses [T + 1, P].</summary>
    public float[,] Loss { get; }

    /// <summary>Steps T (the curves have T + 1 points).</summary>
    public int Steps => Loss.GetLength(0) - 1;

    /// <summary>Problems P.</summary>
    public int Problems => Loss.GetLength(1);

    /// <summary>Mean loss over problems at step <paramref name="t"/>, and the half-width of its normal 95 % CI (1.96 s/√P).</summary>
    public (double Mean, double HalfWidth) MeanWithCi(int t) => MeanWithCi(Problems, i => Loss[t, i]);

    /// <summary>
    /// This optimizer's loss minus <paramref name="other"/>'s at step <paramref name="t"/>, paired problem
    /// by problem (both curves must come from the same problems): mean difference, the half-width of its
    /// normal 95 % CI, and the share of problems where this optimizer's loss is strictly lower. Pairing
    /// removes the spread of problem difficulty that both share, so this CI is far tighter than the two
    /// unpaired ones when a few hard problems dominate both means.
    /// </summary>
    /// <exception cref="ArgumentException">The curves differ in problems or steps.</exception>
    public (double Mean, double HalfWidth, double ShareLower) PairedDifference(LossCurves other, int t)
    {
        if (other.Problems != Problems || other.Steps != Steps)
        {
            throw new ArgumentException($"paired comparison needs the same problems and steps: {Problems}×{Steps} vs {other.Problems}×{other.Steps}", nameof(other));
        }
        var (mean, half) = MeanWithCi(Problems, i => (double)Loss[t, i] - other.Loss[t, i]);
        var lower = 0;
        for (var i = 0; i < Problems; i++)
        {
            lower += Loss[t, i] < other.Loss[t, i] ? 1 : 0;
        }
        return (mean, half, (double)lower / Problems);
    }

    private static (double Mean, double HalfWidth) MeanWithCi(int count, Func<int, double> value)
    {
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            sum += value(i);
        }
        var mean = sum / count;
        if (count < 2)
        {
            return (mean, double.NaN);
        }
        double squares = 0;
        for (var i = 0; i < count; i++)
        {
            var d = value(i) - mean;
            squares += d * d;
        }
        return (mean, 1.96 * Math.Sqrt(squares / (count - 1) / count));
    }

    /// <summary>Mean over problems and over steps 1..T (the meta-loss per step); +∞ when any value is not finite.</summary>
    public double MeanOverSteps()
    {
        double sum = 0;
        for (var t = 1; t <= Steps; t++)
        {
            for (var i = 0; i < Problems; i++)
            {
                sum += Loss[t, i];
            }
        }
        var mean = sum / (Steps * (double)Problems);
        return double.IsFinite(mean) ? mean : double.PositiveInfinity;
    }

    /// <summary>Mean final loss over problems; +∞ when not finite.</summary>
    public double MeanFinal()
    {
        var (mean, _) = MeanWithCi(Steps);
        return double.IsFinite(mean) ? mean : double.PositiveInfinity;
    }
}

/// <summary>Runs an update rule on a batch of problems and records every step's loss.</summary>
public static class OptimizeeRunner
{
    /// <summary>
    /// Optimizes all problems of <paramref name="batch"/> from θ_0 for <paramref name="steps"/> steps
    /// with <paramref name="rule"/> (reset first). Returns losses [steps + 1, P]. Allocates one graph
    /// per step for ∇f only; no meta-gradient.
    /// </summary>
    public static LossCurves Run(IOptimizeeBatch batch, IUpdateRule rule, int steps, string? name = null)
    {
        rule.Reset();
        using var outer = NewDisposeScope();
        var record = zeros(steps + 1, batch.Problems);
        var theta = batch.InitialParameters();
        for (var t = 0; t <= steps; t++)
        {
            using var scope = NewDisposeScope();
            var leaf = theta.detach().requires_grad_(true);
            var loss = batch.Loss(leaf, t);
            using (torch.no_grad())
            {
                record[t].copy_(loss);
            }
            if (t == steps)
            {
                break;
            }
            var gradient = torch.autograd.grad([loss.sum()], [leaf])[0];
            Tensor next;
            using (torch.no_grad())
            {
                next = theta.add(rule.Step(gradient));
            }
            var previous = theta;
            theta = next.MoveToOuterDisposeScope();
            previous.Dispose();
        }
        var values = record.data<float>().ToArray();
        var curves = new float[steps + 1, batch.Problems];
        Buffer.BlockCopy(values, 0, curves, 0, values.Length * sizeof(float));
        rule.Reset();
        return new LossCurves(name ?? rule.Name, curves);
    }
}
