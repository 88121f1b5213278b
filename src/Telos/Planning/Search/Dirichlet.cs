using Telos.Randomness;

namespace Telos.Planning.Search;

/// <summary>Gamma and Dirichlet sampling on <see cref="Rng"/> (Marsaglia and Tsang 2000).</summary>
public static class Dirichlet
{
    /// <summary>One Gamma(<paramref name="shape"/>, 1) draw; shape &gt; 0.</summary>
    public static double Gamma(ref Rng rng, double shape)
    {
        if (shape < 1)
        {
            // Gamma(α) = Gamma(α + 1) · U^(1/α) for α < 1.
            var u = rng.NextDouble();
            return Gamma(ref rng, shape + 1) * Math.Pow(1.0 - u, 1.0 / shape);
        }
        var d = shape - 1.0 / 3.0;
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = rng.NextGaussian();
                v = 1.0 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = 1.0 - rng.NextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1.0 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    /// <summary>Writes a symmetric Dirichlet(<paramref name="alpha"/>) draw over <paramref name="output"/>.Length categories.</summary>
    public static void Sample(ref Rng rng, double alpha, Span<float> output)
    {
        var sum = 0.0;
        for (var i = 0; i < output.Length; i++)
        {
            var g = Gamma(ref rng, alpha);
            output[i] = (float)g;
            sum += g;
        }
        if (sum <= 0)
        {
            // Every draw underflowed (tiny α): the limit is a point mass; pick one uniformly.
            output.Clear();
            output[rng.NextInt(output.Length)] = 1f;
            return;
        }
        var inv = 1.0 / sum;
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = (float)(output[i] * inv);
        }
    }
}
