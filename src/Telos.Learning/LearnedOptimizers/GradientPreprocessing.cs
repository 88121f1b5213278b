using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>How a coordinate's raw gradient is turned into the LSTM's input.</summary>
public enum GradientPreprocessing
{
    /// <summary>The raw gradient, one input per coordinate.</summary>
    None,

    /// <summary>
    /// The paper's (Andrychowicz et al. 2016, App. A) log/sign form with parameter p:
    /// |g| ≥ e^−p → (log|g| / p, sgn g), else (−1, e^p g). Two inputs per coordinate.
    /// </summary>
    LogSign,

    /// <summary>
    /// DeepMind's TensorFlow code (<c>preprocess.LogAndSign(k)</c>): (max(log(|g| + ε)/k, −1),
    /// clamp(e^k g, −1, 1)) with ε the float32 machine epsilon; their default k = 5.
    /// Two inputs per coordinate.
    /// </summary>
    DeepMindLogSign,
}

/// <summary>The gradient preprocessing formulas, on a column of gradients.</summary>
public static class GradientPreprocessor
{
    /// <summary>Number of LSTM inputs per coordinate for <paramref name="kind"/>.</summary>
    public static int InputSize(GradientPreprocessing kind) => kind == GradientPreprocessing.None ? 1 : 2;

    /// <summary>
    /// Preprocesses gradients <paramref name="gradient"/> of shape [N] into [InputSize, N]: one row per
    /// input, coordinates along the contiguous axis (the layout of <see cref="CoordinatewiseLstm"/>).
    /// The input is detached: preprocessing never carries a gradient (no second derivatives).
    /// </summary>
    /// <param name="gradient">Gradients, shape [N], any N ≥ 0.</param>
    /// <param name="kind">Which formula.</param>
    /// <param name="p">The paper's p (LogSign) or DeepMind's k (DeepMindLogSign); ignored for None.</param>
    public static Tensor Apply(Tensor gradient, GradientPreprocessing kind, double p)
    {
        var g = gradient.detach().reshape(1, -1);
        switch (kind)
        {
            case GradientPreprocessing.None:
                return g.clone();
            case GradientPreprocessing.LogSign:
            {
                // Branch-free form of the paper's two cases (fewer native calls than where()):
                // below e^−p, log(max(|g|, e^−p))/p = log(e^−p)/p = −1 (to float rounding), and
                // clamp(e^p g, −1, 1) is sgn g above the threshold and e^p g below it.
                var threshold = Math.Exp(-p);
                var logPart = g.abs().clamp_min(threshold).log().div(p);
                var signPart = g.mul(Math.Exp(p)).clamp(-1.0, 1.0);
                return torch.cat(new[] { logPart, signPart }, 0);
            }
            case GradientPreprocessing.DeepMindLogSign:
            {
                const double epsilon = 1.1920928955078125e-07; // float32 machine epsilon, as np.finfo(float32).eps
                var logPart = g.abs().add(epsilon).log().div(p).clamp_min(-1.0);
                var signPart = g.mul(Math.Exp(p)).clamp(-1.0, 1.0);
                return torch.cat(new[] { logPart, signPart }, 0);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown gradient preprocessing");
        }
    }
}
