using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// A family of optimization problems (the paper's "optimizees"), written functionally so that the
/// parameters are an ordinary tensor: θ_{t+1} = θ_t + g_t can stay in the autograd graph.
/// </summary>
public interface IOptimizeeTask
{
    /// <summary>Short name, e.g. "quadratic-10" or "mlp-20-sigmoid".</summary>
    string Name { get; }

    /// <summary>Parameters per problem, n.</summary>
    long Dimension { get; }

    /// <summary>
    /// Draws <paramref name="problems"/> independent problems; a pure function of (task, problems, seed).
    /// </summary>
    IOptimizeeBatch Sample(int problems, ulong seed);
}

/// <summary>P problems of one task, optimized side by side.</summary>
public interface IOptimizeeBatch : IDisposable
{
    /// <summary>Number of problems P.</summary>
    int Problems { get; }

    /// <summary>Parameters per problem n.</summary>
    long Dimension { get; }

    /// <summary>A fresh tensor with the initial parameters θ_0, shape [P, n].</summary>
    Tensor InitialParameters();

    /// <summary>
    /// f_t(θ) per problem, shape [P], differentiable in <paramref name="theta"/> ([P, n]).
    /// <paramref name="step"/> selects the step's data (the minibatch for stochastic problems) so
    /// every optimizer sees the same data at the same step; deterministic problems ignore it.
    /// </summary>
    Tensor Loss(Tensor theta, int step);
}

/// <summary>How the random quadratic problems are drawn.</summary>
public enum QuadraticDistribution
{
    /// <summary>The paper: W and y with IID standard Gaussian entries.</summary>
    Gaussian,

    /// <summary>DeepMind's TF code: W and y with IID entries uniform on [0, 1).</summary>
    Uniform,
}

/// <summary>
/// f(θ) = ‖Wθ − y‖² with W [n, n] and y [n] drawn per problem (paper §3.1: n = 10, Gaussian).
/// </summary>
/// <param name="Dimensions">n (paper: 10).</param>
/// <param name="Distribution">How W, y are drawn (paper: Gaussian; DeepMind: Uniform).</param>
/// <param name="InitialStd">θ_0 ~ N(0, std²) (paper: unspecified; 1 as in AdrienLE's reproduction; DeepMind: 0.01).</param>
public sealed record QuadraticTask(int Dimensions = 10, QuadraticDistribution Distribution = QuadraticDistribution.Gaussian, double InitialStd = 1.0) : IOptimizeeTask
{
    public string Name => $"quadratic-{Dimensions}";

    public long Dimension => Dimensions;

    public IOptimizeeBatch Sample(int problems, ulong seed)
    {
        if (problems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(problems), problems, "need at least one problem");
        }
        var n = Dimensions;
        var rng = new Rng(seed);
        var w = new float[problems * n * n];
        var y = new float[problems * n];
        var theta = new float[problems * n];
        Fill(ref rng, w);
        Fill(ref rng, y);
        for (var i = 0; i < theta.Length; i++)
        {
            theta[i] = (float)(InitialStd * rng.NextGaussian());
        }
        // The batch owns its tensors, whatever dispose scope the caller is in.
        return new Batch(
            tensor(w).reshape(problems, n, n).DetachFromDisposeScope(),
            tensor(y).reshape(problems, n).DetachFromDisposeScope(),
            tensor(theta).reshape(problems, n).DetachFromDisposeScope());
    }

    private void Fill(ref Rng rng, float[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)(Distribution == QuadraticDistribution.Gaussian ? rng.NextGaussian() : rng.NextDouble());
        }
    }

    private sealed class Batch(Tensor w, Tensor y, Tensor theta0) : IOptimizeeBatch
    {
        public int Problems => (int)theta0.shape[0];

        public long Dimension => theta0.shape[1];

        public Tensor InitialParameters() => theta0.clone();

        public Tensor Loss(Tensor theta, int step)
        {
            var residual = w.bmm(theta.unsqueeze(2)).squeeze(2).sub(y);
            return residual.square().sum(1);
        }

        public void Dispose()
        {
            w.Dispose();
            y.Dispose();
            theta0.Dispose();
        }
    }
}
