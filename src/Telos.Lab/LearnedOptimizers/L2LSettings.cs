using Telos.Lab.Configuration;
using Telos.Learning.LearnedOptimizers;

namespace Telos.Lab.LearnedOptimizers;

/// <summary>The MLP optimizee of a config (<c>[task]</c> or <c>[evaluation]</c> overrides).</summary>
/// <param name="Data">"fashion-mnist" (Debian's dataset-fashion-mnist) or "mnist" (IDX files in <paramref name="DataPath"/>).</param>
/// <param name="DataPath">Folder of the IDX files; empty = the Debian package folder (Fashion-MNIST only).</param>
/// <param name="Hidden">Units per hidden layer.</param>
/// <param name="Activation">Hidden nonlinearity.</param>
/// <param name="BatchSize">Minibatch size.</param>
public sealed record MlpSettings(string Data, string DataPath, IReadOnlyList<int> Hidden, MlpActivation Activation, int BatchSize)
{
    public string Describe() => $"MLP {string.Join("×", Hidden)} {Activation.ToString().ToLowerInvariant()} on {Data}, batch {BatchSize}";
}

/// <summary>How optimizers are compared after meta-training.</summary>
/// <param name="Steps">Optimizee steps per test problem.</param>
/// <param name="TestProblems">Fresh test problems (≥ 100 for the reported CIs).</param>
/// <param name="TuningProblems">Problems for the baselines' learning-rate search (disjoint from test).</param>
/// <param name="LearningRateLow">Lowest learning rate of the log grid.</param>
/// <param name="LearningRateHigh">Highest learning rate of the log grid.</param>
/// <param name="PointsPerDecade">Grid points per factor 10.</param>
/// <param name="Baselines">Hand-designed optimizers to compare.</param>
/// <param name="ReportSteps">Steps whose means and CIs go in the report table.</param>
public sealed record EvaluationSettings(int Steps, int TestProblems, int TuningProblems, double LearningRateLow, double LearningRateHigh, int PointsPerDecade, IReadOnlyList<BaselineKind> Baselines, IReadOnlyList<int> ReportSteps);

/// <summary>Everything an L2L experiment reads from its config.</summary>
/// <param name="Optimizer">LSTM architecture (<c>[optimizer]</c>).</param>
/// <param name="Meta">Meta-training (<c>[meta]</c>).</param>
/// <param name="Quadratic">Quadratic task (<c>[task]</c>) for l2l-quadratic, else null.</param>
/// <param name="TrainMlp">MLP task for meta-training (<c>[task]</c>) for l2l-mlp, else null.</param>
/// <param name="EvalMlp">MLP task for evaluation (<c>[evaluation]</c> hidden/activation override <c>[task]</c>), else null.</param>
/// <param name="Evaluation">Comparison settings (<c>[evaluation]</c>).</param>
/// <param name="CheckpointEvery">Checkpoint after every this many problem batches.</param>
/// <param name="ReuseTrained">Reuse an optimizer meta-trained earlier with the same training settings and seed (kept in the runs folder's <c>l2l-cache/</c>).</param>
/// <param name="TrainedOptimizer">A saved optimizer (<c>optimizer.l2l</c> of an earlier run) to evaluate instead of meta-training; empty = meta-train.</param>
public sealed record L2LSettings(
    LstmOptimizerOptions Optimizer,
    MetaTrainingOptions Meta,
    QuadraticTask? Quadratic,
    MlpSettings? TrainMlp,
    MlpSettings? EvalMlp,
    EvaluationSettings Evaluation,
    int CheckpointEvery,
    bool ReuseTrained,
    string TrainedOptimizer = "");

/// <summary>Reads <see cref="L2LSettings"/> through the validating config getters.</summary>
internal static class L2LConfig
{
    private static readonly string[] PreprocessingNames = ["log-sign", "deepmind-log-sign", "none"];
    private static readonly string[] BaselineNames = ["sgd", "nag", "rmsprop", "adam"];

    public static string ReadTrainedOptimizer(ConfigTable config)
    {
        var path = config.GetString("trained_optimizer", "");
        if (path.Length > 0 && !File.Exists(path))
        {
            throw config.Error("trained_optimizer", $"no such file: {path}");
        }
        return path;
    }

    public static LstmOptimizerOptions ReadOptimizer(ConfigTable config, double defaultOutputScale)
    {
        var t = config.Table("optimizer");
        var preprocessing = t.GetString("preprocessing", "log-sign", PreprocessingNames) switch
        {
            "log-sign" => GradientPreprocessing.LogSign,
            "deepmind-log-sign" => GradientPreprocessing.DeepMindLogSign,
            _ => GradientPreprocessing.None,
        };
        return new LstmOptimizerOptions(
            HiddenSize: t.GetInt("hidden_size", 20, min: 1, max: 4096),
            Layers: t.GetInt("layers", 2, min: 1, max: 16),
            Preprocessing: preprocessing,
            PreprocessingParameter: t.GetDouble("preprocessing_p", preprocessing == GradientPreprocessing.DeepMindLogSign ? 5.0 : 10.0, min: 1e-6),
            OutputScale: t.GetDouble("output_scale", defaultOutputScale, min: 1e-9));
    }

    public static MetaTrainingOptions ReadMeta(ConfigTable config, MetaTrainingOptions defaults)
    {
        var t = config.Table("meta");
        var horizon = t.GetInt("horizon", defaults.Horizon, min: 1);
        var unroll = t.GetInt("unroll", defaults.Unroll, min: 1);
        if (unroll > horizon)
        {
            throw t.Error("unroll", $"must be ≤ horizon ({horizon}), got {unroll}");
        }
        return new MetaTrainingOptions(
            Horizon: horizon,
            Unroll: unroll,
            ProblemsPerBatch: t.GetInt("problems_per_batch", defaults.ProblemsPerBatch, min: 1),
            MetaLearningRate: t.GetDouble("learning_rate", defaults.MetaLearningRate, min: 1e-12, max: 10),
            MaxProblems: t.GetInt("max_problems", defaults.MaxProblems, min: 1),
            ValidateEvery: t.GetInt("validate_every", defaults.ValidateEvery, min: 1),
            ValidationProblems: t.GetInt("validation_problems", defaults.ValidationProblems, min: 1),
            Patience: t.GetInt("patience", defaults.Patience, min: 0),
            GradientClip: t.GetDouble("gradient_clip", defaults.GradientClip, min: 0),
            SelectOn: t.GetString("select_on", "mean-loss", ["mean-loss", "final-loss"]) == "mean-loss" ? ValidationMetric.MeanLoss : ValidationMetric.FinalLoss);
    }

    public static QuadraticTask ReadQuadratic(ConfigTable config)
    {
        var t = config.Table("task");
        return new QuadraticTask(
            Dimensions: t.GetInt("dimensions", 10, min: 1, max: 100_000),
            Distribution: t.GetString("distribution", "gaussian", ["gaussian", "uniform"]) == "gaussian" ? QuadraticDistribution.Gaussian : QuadraticDistribution.Uniform,
            InitialStd: t.GetDouble("initial_std", 1.0, min: 0));
    }

    public static (MlpSettings Train, MlpSettings Eval) ReadMlp(ConfigTable config)
    {
        var t = config.Table("task");
        var data = t.GetString("data", "fashion-mnist", ["fashion-mnist", "mnist"]);
        var path = t.GetString("data_path", "");
        if (data == "mnist" && path.Length == 0)
        {
            throw t.Error("data_path", "data = \"mnist\" needs data_path, the folder with MNIST's IDX files");
        }
        var train = new MlpSettings(
            data,
            path,
            t.GetIntList("hidden", [20], min: 1, max: 100_000, minCount: 1, maxCount: 8),
            ReadActivation(t, "activation", MlpActivation.Sigmoid),
            t.GetInt("batch_size", 128, min: 1, max: 1_000_000));
        var e = config.Table("evaluation");
        var eval = train with
        {
            Hidden = e.GetIntList("hidden", train.Hidden, min: 1, max: 100_000, minCount: 1, maxCount: 8),
            Activation = ReadActivation(e, "activation", train.Activation),
        };
        return (train, eval);
    }

    public static EvaluationSettings ReadEvaluation(ConfigTable config, int defaultSteps, int defaultTuning, double low, double high)
    {
        var t = config.Table("evaluation");
        var steps = t.GetInt("steps", defaultSteps, min: 1, max: 1_000_000);
        var gridLow = t.GetDouble("lr_low", low, min: 1e-12);
        var gridHigh = t.GetDouble("lr_high", high, min: 1e-12);
        if (gridHigh < gridLow)
        {
            throw t.Error("lr_high", $"must be ≥ lr_low ({gridLow}), got {gridHigh}");
        }
        var baselines = t.GetStringList("baselines", BaselineNames, BaselineNames).Select(name => name switch
        {
            "sgd" => BaselineKind.Sgd,
            "nag" => BaselineKind.Nag,
            "rmsprop" => BaselineKind.RmsProp,
            _ => BaselineKind.Adam,
        }).ToArray();
        return new EvaluationSettings(
            steps,
            t.GetInt("test_problems", 100, min: 2, max: 100_000),
            t.GetInt("tuning_problems", defaultTuning, min: 1, max: 100_000),
            gridLow,
            gridHigh,
            t.GetInt("lr_points_per_decade", 3, min: 1, max: 100),
            baselines,
            t.GetIntList("report_steps", [Math.Min(100, steps), steps], min: 0, max: steps, minCount: 1).Distinct().ToArray());
    }

    private static MlpActivation ReadActivation(ConfigTable t, string key, MlpActivation fallback) =>
        t.GetString(key, fallback.ToString().ToLowerInvariant(), ["sigmoid", "relu"]) == "relu" ? MlpActivation.Relu : MlpActivation.Sigmoid;
}
