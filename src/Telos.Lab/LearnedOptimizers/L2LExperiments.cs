using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;

namespace Telos.Lab.LearnedOptimizers;

/// <summary>
/// <c>experiment = "l2l-quadratic"</c>: the LSTM optimizer of Andrychowicz et al. (2016) meta-trained on
/// random 10-d quadratics ‖Wθ − y‖² and compared with tuned SGD, NAG, RMSprop and Adam (paper Fig. 2 left).
/// </summary>
public sealed class L2LQuadraticExperiment : Experiment<L2LSettings>
{
    private readonly string _trainingCode;

    public L2LQuadraticExperiment()
        : this(L2LTrainingCache.CodeIdentity)
    {
    }

    /// <param name="trainingCode">Names the training code in the reuse cache's key (tests pass other identities).</param>
    internal L2LQuadraticExperiment(string trainingCode) => _trainingCode = trainingCode;

    public override string Kind => "l2l-quadratic";

    public override string Description => "Learning to learn by gradient descent by gradient descent: LSTM optimizer vs tuned baselines on 10-d quadratics";

    public override L2LSettings Configure(ConfigTable config)
    {
        var optimizer = L2LConfig.ReadOptimizer(config, defaultOutputScale: 1.0);
        var meta = L2LConfig.ReadMeta(config, new MetaTrainingOptions(ProblemsPerBatch: 128, MetaLearningRate: 0.003, MaxProblems: 1000, ValidateEvery: 20, ValidationProblems: 128, Patience: 0));
        var task = L2LConfig.ReadQuadratic(config);
        var evaluation = L2LConfig.ReadEvaluation(config, defaultSteps: meta.Horizon, defaultTuning: 100, low: 1e-4, high: 10);
        var checkpointEvery = config.GetInt("checkpoint_every", 50, min: 1);
        var reuse = config.GetBool("reuse_trained", false);
        return new L2LSettings(optimizer, meta, task, null, null, evaluation, checkpointEvery, reuse, L2LConfig.ReadTrainedOptimizer(config));
    }

    public override int Run(ExperimentContext context, L2LSettings settings)
    {
        TorchRuntime.EnsureInitialized();
        return new L2LStudy(context, settings, settings.Quadratic!, settings.Quadratic!, $"L2L on {settings.Quadratic!.Name} quadratics", _trainingCode).Run();
    }
}

/// <summary>
/// <c>experiment = "l2l-mlp"</c>: the LSTM optimizer meta-trained on training a small MLP classifier
/// (Fashion-MNIST from Debian's dataset-fashion-mnist, or MNIST IDX files) and compared with tuned
/// baselines; <c>[evaluation]</c> can change steps, hidden layers and activation for the paper's
/// Fig. 5 generalization tests, with <c>reuse_trained = true</c> sharing one meta-trained optimizer.
/// Meta-training draws minibatches from the training split; test and tuning problems from the test split.
/// </summary>
public sealed class L2LMlpExperiment : Experiment<L2LSettings>
{
    private readonly string _trainingCode;

    public L2LMlpExperiment()
        : this(L2LTrainingCache.CodeIdentity)
    {
    }

    /// <param name="trainingCode">Names the training code in the reuse cache's key (tests pass other identities).</param>
    internal L2LMlpExperiment(string trainingCode) => _trainingCode = trainingCode;

    public override string Kind => "l2l-mlp";

    public override string Description => "Learning to learn by gradient descent by gradient descent: LSTM optimizer vs tuned baselines training an MLP on (Fashion-)MNIST";

    public override L2LSettings Configure(ConfigTable config)
    {
        var optimizer = L2LConfig.ReadOptimizer(config, defaultOutputScale: 0.1);
        var meta = L2LConfig.ReadMeta(config, new MetaTrainingOptions(ProblemsPerBatch: 1, MetaLearningRate: 0.01, MaxProblems: 200, ValidateEvery: 20, ValidationProblems: 16, Patience: 0));
        var (train, eval) = L2LConfig.ReadMlp(config);
        var evaluation = L2LConfig.ReadEvaluation(config, defaultSteps: meta.Horizon, defaultTuning: 32, low: 1e-3, high: 10);
        var checkpointEvery = config.GetInt("checkpoint_every", 10, min: 1);
        var reuse = config.GetBool("reuse_trained", true);
        return new L2LSettings(optimizer, meta, null, train, eval, evaluation, checkpointEvery, reuse, L2LConfig.ReadTrainedOptimizer(config));
    }

    public override int Run(ExperimentContext context, L2LSettings settings)
    {
        TorchRuntime.EnsureInitialized();
        using var trainData = Load(settings.TrainMlp!, IdxImages.Split.Train);
        using var testData = Load(settings.EvalMlp!, IdxImages.Split.Test);
        var train = new MlpTask(trainData, settings.TrainMlp!.Hidden, settings.TrainMlp.Activation, settings.TrainMlp.BatchSize);
        var eval = new MlpTask(testData, settings.EvalMlp!.Hidden, settings.EvalMlp.Activation, settings.EvalMlp.BatchSize);
        return new L2LStudy(context, settings, train, eval, $"L2L: {settings.EvalMlp.Describe()}, {settings.Evaluation.Steps} steps", _trainingCode).Run();
    }

    private static LabeledImages Load(MlpSettings s, IdxImages.Split split) =>
        s.Data == "fashion-mnist"
            ? IdxImages.LoadFashionMnist(split, s.DataPath.Length == 0 ? null : s.DataPath)
            : IdxImages.LoadFolder(s.DataPath, split);
}
