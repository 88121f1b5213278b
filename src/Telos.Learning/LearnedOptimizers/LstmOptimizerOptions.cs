namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Architecture of the coordinatewise LSTM optimizer. Defaults follow the paper
/// (Andrychowicz et al. 2016): two layers of 20 units, log/sign preprocessing with p = 10,
/// output scale 1 (quadratics; the paper uses 0.1 for the MNIST MLP).
/// </summary>
/// <param name="HiddenSize">Units per LSTM layer (paper: 20).</param>
/// <param name="Layers">Stacked LSTM layers (paper: 2).</param>
/// <param name="Preprocessing">Gradient preprocessing (paper: <see cref="GradientPreprocessing.LogSign"/>).</param>
/// <param name="PreprocessingParameter">p for LogSign (paper: 10) or k for DeepMindLogSign (DeepMind: 5).</param>
/// <param name="OutputScale">Multiplies the linear head's output (paper: 1 for quadratics, 0.1 for MNIST; DeepMind: 0.01).</param>
public sealed record LstmOptimizerOptions(
    int HiddenSize = 20,
    int Layers = 2,
    GradientPreprocessing Preprocessing = GradientPreprocessing.LogSign,
    double PreprocessingParameter = 10.0,
    double OutputScale = 1.0)
{
    /// <summary>The paper's settings for quadratics.</summary>
    public static LstmOptimizerOptions Paper { get; } = new();

    /// <summary>The paper's settings for the MNIST MLP (output × 0.1).</summary>
    public static LstmOptimizerOptions PaperMlp { get; } = new(OutputScale: 0.1);

    /// <summary>google-deepmind/learning-to-learn defaults: LogAndSign(k = 5), output scale 0.01.</summary>
    public static LstmOptimizerOptions DeepMind { get; } = new(Preprocessing: GradientPreprocessing.DeepMindLogSign, PreprocessingParameter: 5.0, OutputScale: 0.01);

    /// <summary>Throws <see cref="TelosInputException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (HiddenSize < 1)
        {
            throw new TelosInputException($"hidden_size must be ≥ 1, got {HiddenSize}");
        }
        if (Layers < 1)
        {
            throw new TelosInputException($"layers must be ≥ 1, got {Layers}");
        }
        if (Preprocessing != GradientPreprocessing.None && !(PreprocessingParameter > 0))
        {
            throw new TelosInputException($"preprocessing_p must be > 0, got {PreprocessingParameter}");
        }
        if (!double.IsFinite(OutputScale) || OutputScale <= 0)
        {
            throw new TelosInputException($"output_scale must be a positive number, got {OutputScale}");
        }
    }
}
