using Telos.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Meta-training settings (paper §3: truncated BPTT, unroll 20 over 100 steps, meta-Adam).
/// </summary>
/// <param name="Horizon">Optimizee steps per problem before a fresh problem is drawn (paper: 100).</param>
/// <param name="Unroll">Steps per truncation, i.e. per meta-step (paper: 20).</param>
/// <param name="ProblemsPerBatch">Problems optimized side by side in one meta-step; the meta-loss averages over them.</param>
/// <param name="MetaLearningRate">Adam's learning rate on the LSTM weights (AdrienLE: 0.003 quadratics, 0.01 MNIST).</param>
/// <param name="MaxProblems">Stop after this many problem batches (each Horizon / Unroll meta-steps).</param>
/// <param name="ValidateEvery">Validate after every this many problem batches.</param>
/// <param name="ValidationProblems">Fresh validation problems (drawn once, kept fixed).</param>
/// <param name="Patience">Stop after this many validations without improvement; 0 never stops early.</param>
/// <param name="GradientClip">Clip the meta-gradient's global norm to this; 0 disables (the paper does not clip).</param>
/// <param name="SelectOn">Which validation number early stopping keeps the best of.</param>
public sealed record MetaTrainingOptions(
    int Horizon = 100,
    int Unroll = 20,
    int ProblemsPerBatch = 128,
    double MetaLearningRate = 0.003,
    int MaxProblems = 100,
    int ValidateEvery = 10,
    int ValidationProblems = 128,
    int Patience = 0,
    double GradientClip = 0,
    ValidationMetric SelectOn = ValidationMetric.MeanLoss)
{
    /// <summary>Throws <see cref="TelosInputException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new TelosInputException(message);
            }
        }
        Require(Horizon >= 1, $"horizon must be ≥ 1, got {Horizon}");
        Require(Unroll >= 1 && Unroll <= Horizon, $"unroll must be in [1, horizon = {Horizon}], got {Unroll}");
        Require(ProblemsPerBatch >= 1, $"problems_per_batch must be ≥ 1, got {ProblemsPerBatch}");
        Require(MetaLearningRate > 0 && double.IsFinite(MetaLearningRate), $"meta_learning_rate must be > 0, got {MetaLearningRate}");
        Require(MaxProblems >= 1, $"max_problems must be ≥ 1, got {MaxProblems}");
        Require(ValidateEvery >= 1, $"validate_every must be ≥ 1, got {ValidateEvery}");
        Require(ValidationProblems >= 1, $"validation_problems must be ≥ 1, got {ValidationProblems}");
        Require(Patience >= 0, $"patience must be ≥ 0, got {Patience}");
        Require(GradientClip >= 0, $"gradient_clip must be ≥ 0, got {GradientClip}");
    }
}

/// <summary>What early stopping compares between validations.</summary>
public enum ValidationMetric
{
    /// <summary>Mean loss over steps 1..Horizon: the meta-loss itself.</summary>
    MeanLoss,

    /// <summary>Mean loss at the last step (Horizon).</summary>
    FinalLoss,
}

/// <summary>One meta-step's record.</summary>
/// <param name="MetaStep">0-based meta-step index.</param>
/// <param name="Problem">0-based index of the problem batch.</param>
/// <param name="MetaLoss">Σ over the truncation's steps of the mean loss over problems.</param>
public readonly record struct MetaStepRecord(long MetaStep, int Problem, double MetaLoss);

/// <summary>One validation: mean loss over validation problems and steps 1..Horizon.</summary>
public readonly record struct ValidationRecord(int Problem, long MetaStep, double MeanLoss, double FinalLoss, bool Best);

/// <summary>Counters of a <see cref="MetaTrainer"/> saved with a checkpoint.</summary>
public sealed record MetaTrainerProgress(int ProblemsDone, long MetaSteps, double BestValidation, int StaleValidations, long AdamSteps, IReadOnlyList<ValidationRecord> Validations);

/// <summary>
/// Meta-trains a <see cref="CoordinatewiseLstm"/> on an <see cref="IOptimizeeTask"/> (Andrychowicz et al. 2016):
/// <list type="bullet">
/// <item>θ_{t+1} = θ_t + m(∇f_t(θ_t)) stays in the graph; the gradient input is detached
/// (<c>autograd.grad</c> without <c>create_graph</c>, then <c>detach</c>): no second derivatives.</item>
/// <item>Meta-loss Σ_t f_t(θ_t) (w_t = 1) over the Unroll steps of a truncation, averaged over the
/// problems of the batch; meta-Adam step; θ and the LSTM state are detached between truncations.</item>
/// <item>A fresh problem batch every Horizon steps; validation on fixed fresh problems; the best
/// validated weights are kept (early stopping).</item>
/// </list>
/// </summary>
public sealed class MetaTrainer : IDisposable
{
    private readonly CoordinatewiseLstm _network;
    private readonly CoordinatewiseLstm _best;
    private readonly IOptimizeeTask _task;
    private readonly MetaTrainingOptions _options;
    private readonly ulong _seed;
    private readonly MetaAdam _metaOptimizer;
    private readonly List<ValidationRecord> _validations = [];
    private IOptimizeeBatch? _validation;

    // Position inside the current problem batch (only between meta-steps).
    private IOptimizeeBatch? _batch;
    private Tensor? _theta;
    private Tensor? _gradient;
    private LstmOptimizerState? _state;
    private int _step;

    /// <param name="network">The optimizer to train (its weights change in place).</param>
    /// <param name="task">Problems to train on.</param>
    /// <param name="options">Meta-training settings.</param>
    /// <param name="seed">Root seed: problem batch i uses Derive(seed, "train/i"), validation Derive(seed, "validation").</param>
    public MetaTrainer(CoordinatewiseLstm network, IOptimizeeTask task, MetaTrainingOptions options, ulong seed)
    {
        options.Validate();
        _network = network;
        _task = task;
        _options = options;
        _seed = seed;
        _metaOptimizer = new MetaAdam(network.parameters(), options.MetaLearningRate);
        _best = new CoordinatewiseLstm(network.Options, seed: 0);
        CopyWeights(_network, _best);
    }

    /// <summary>Problem batches finished so far.</summary>
    public int ProblemsDone { get; private set; }

    /// <summary>Meta-steps done so far.</summary>
    public long MetaSteps { get; private set; }

    /// <summary>Best validation score (<see cref="MetaTrainingOptions.SelectOn"/>) so far (+∞ before the first validation).</summary>
    public double BestValidation { get; private set; } = double.PositiveInfinity;

    /// <summary>Validations without improvement since the best.</summary>
    public int StaleValidations { get; private set; }

    /// <summary>All validations so far.</summary>
    public IReadOnlyList<ValidationRecord> Validations => _validations;

    /// <summary>The best validated weights (equal to the initial weights before any validation).</summary>
    public CoordinatewiseLstm Best => _best;

    /// <summary>True when MaxProblems are done or early stopping triggered.</summary>
    public bool Finished => ProblemsDone >= _options.MaxProblems || (_options.Patience > 0 && StaleValidations >= _options.Patience);

    /// <summary>
    /// Runs meta-steps until <see cref="Finished"/>; calls <paramref name="onMetaStep"/> after each
    /// meta-step and <paramref name="onProblemDone"/> at each problem boundary (after validation,
    /// when one was due) — the place to checkpoint.
    /// </summary>
    public void Train(
        IProgress<ProgressUpdate>? progress = null,
        Action<MetaStepRecord>? onMetaStep = null,
        Action<ValidationRecord>? onValidation = null,
        Action? onProblemDone = null,
        CancellationToken cancellation = default)
    {
        var stepsPerProblem = (_options.Horizon + _options.Unroll - 1) / _options.Unroll;
        var total = (long)_options.MaxProblems * stepsPerProblem;
        while (!Finished)
        {
            cancellation.ThrowIfCancellationRequested();
            var problem = ProblemsDone;
            var metaLoss = MetaStep();
            onMetaStep?.Invoke(new MetaStepRecord(MetaSteps - 1, problem, metaLoss));
            progress?.Report(new ProgressUpdate("meta-train", MetaSteps, total, $"meta-loss {metaLoss:G4} best val {BestValidation:G4}"));
            if (_batch is null)
            {
                if (ProblemsDone % _options.ValidateEvery == 0 || ProblemsDone >= _options.MaxProblems)
                {
                    var record = Validate();
                    onValidation?.Invoke(record);
                }
                onProblemDone?.Invoke();
            }
        }
    }

    /// <summary>
    /// One truncation: Unroll optimizee steps of the current problem batch (a fresh one when the last
    /// finished), meta-loss backward, meta-Adam step. Returns the meta-loss.
    /// </summary>
    public double MetaStep()
    {
        if (_batch is null)
        {
            StartProblemBatch();
        }
        var batch = _batch!;
        var problems = batch.Problems;
        var dimension = batch.Dimension;
        double value;
        using (var scope = NewDisposeScope())
        {
            var theta = _theta!;
            var gradient = _gradient!;
            var state = _state!;
            var metaLoss = zeros(1).squeeze();
            var last = Math.Min(_step + _options.Unroll, _options.Horizon);
            var weights = _network.StepWeights(); // the parameters change only at the meta-Adam step below
            while (_step < last)
            {
                var (update, next) = _network.Step(gradient, state, weights);
                state = next;
                theta = theta.add(update.view(problems, dimension));
                _step++;
                var loss = batch.Loss(theta, _step);
                metaLoss = metaLoss.add(loss.mean());
                if (_step < _options.Horizon)
                {
                    // The optimizer's input: ∇f with the graph kept for the meta-loss but not extended.
                    gradient = torch.autograd.grad([loss.sum()], [theta], retain_graph: true, create_graph: false)[0].detach();
                }
            }
            _metaOptimizer.ZeroGrad();
            metaLoss.backward();
            if (_options.GradientClip > 0)
            {
                nn.utils.clip_grad_norm_(_network.parameters(), _options.GradientClip);
            }
            _metaOptimizer.Step();
            value = metaLoss.item<float>();
            // Truncate: the next meta-step starts from values, not from this graph.
            var oldTheta = _theta!;
            var oldGradient = _gradient!;
            var oldState = _state!;
            _theta = theta.detach().requires_grad_(false).MoveToOuterDisposeScope();
            _gradient = gradient.detach().MoveToOuterDisposeScope();
            _state = state.DetachToOuterScope();
            oldTheta.Dispose();
            oldGradient.Dispose();
            oldState.Dispose();
        }
        foreach (var t in _state.Hidden.Concat(_state.Cell).Append(_theta).Append(_gradient))
        {
            t.DetachFromDisposeScope();
        }
        MetaSteps++;
        if (_step >= _options.Horizon)
        {
            EndProblemBatch();
            ProblemsDone++;
        }
        return value;
    }

    /// <summary>Evaluates the current weights on the validation problems; keeps them when best.</summary>
    public ValidationRecord Validate()
    {
        _validation ??= _task.Sample(_options.ValidationProblems, Seeds.Derive(_seed, "validation"));
        using var rule = new LstmRule(_network);
        var curves = OptimizeeRunner.Run(_validation, rule, _options.Horizon);
        var mean = curves.MeanOverSteps();
        var final = curves.MeanFinal();
        var score = _options.SelectOn == ValidationMetric.MeanLoss ? mean : final;
        var best = score < BestValidation;
        if (best)
        {
            BestValidation = score;
            StaleValidations = 0;
            CopyWeights(_network, _best);
        }
        else
        {
            StaleValidations++;
        }
        var record = new ValidationRecord(ProblemsDone, MetaSteps, mean, final, best);
        _validations.Add(record);
        return record;
    }

    /// <summary>
    /// The training state as named tensors (weights "network/…", best weights "best/…", meta-Adam
    /// moments "adam/…") plus <see cref="MetaTrainerProgress"/>. Valid only at a problem boundary
    /// (as in <c>onProblemDone</c>), where no optimizee state is in flight. Tensors are copies.
    /// </summary>
    public (Dictionary<string, Tensor> Tensors, MetaTrainerProgress Progress) CaptureCheckpoint()
    {
        if (_batch is not null)
        {
            throw new InvalidOperationException("checkpoints are taken between problem batches");
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in _network.named_parameters())
        {
            tensors["network/" + name] = p.detach().clone();
        }
        foreach (var (name, p) in _best.named_parameters())
        {
            tensors["best/" + name] = p.detach().clone();
        }
        foreach (var (name, t) in _metaOptimizer.State())
        {
            tensors["adam/" + name] = t.clone();
        }
        var progress = new MetaTrainerProgress(ProblemsDone, MetaSteps, BestValidation, StaleValidations, _metaOptimizer.Steps, [.. _validations]);
        return (tensors, progress);
    }

    /// <summary>Restores what <see cref="CaptureCheckpoint"/> returned (same architecture and options).</summary>
    public void RestoreCheckpoint(IReadOnlyDictionary<string, Tensor> tensors, MetaTrainerProgress progress)
    {
        EndProblemBatch();
        Tensor Get(string name) => tensors.TryGetValue(name, out var t) ? t : throw new TelosInputException($"checkpoint lacks tensor '{name}'");
        using (no_grad())
        {
            foreach (var (name, p) in _network.named_parameters())
            {
                p.copy_(Get("network/" + name));
            }
            foreach (var (name, p) in _best.named_parameters())
            {
                p.copy_(Get("best/" + name));
            }
        }
        _metaOptimizer.LoadState(name => Get("adam/" + name), progress.AdamSteps);
        ProblemsDone = progress.ProblemsDone;
        MetaSteps = progress.MetaSteps;
        BestValidation = progress.BestValidation;
        StaleValidations = progress.StaleValidations;
        _validations.Clear();
        _validations.AddRange(progress.Validations);
    }

    public void Dispose()
    {
        EndProblemBatch();
        _validation?.Dispose();
        _metaOptimizer.Dispose();
        _best.Dispose();
    }

    internal static void CopyWeights(CoordinatewiseLstm from, CoordinatewiseLstm to) => to.CopyWeightsFrom(from);

    private void StartProblemBatch()
    {
        _batch = _task.Sample(_options.ProblemsPerBatch, Seeds.Derive(_seed, "train/" + ProblemsDone.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var scope = NewDisposeScope();
        var theta = _batch.InitialParameters().requires_grad_(true);
        var loss = _batch.Loss(theta, 0);
        _gradient = torch.autograd.grad([loss.sum()], [theta])[0].detach().DetachFromDisposeScope();
        _theta = theta.detach().DetachFromDisposeScope();
        _state = _network.InitialState(_batch.Problems * _batch.Dimension);
        foreach (var t in _state.Hidden.Concat(_state.Cell))
        {
            t.DetachFromDisposeScope();
        }
        _step = 0;
    }

    private void EndProblemBatch()
    {
        _batch?.Dispose();
        _theta?.Dispose();
        _gradient?.Dispose();
        _state?.Dispose();
        _batch = null;
        _theta = null;
        _gradient = null;
        _state = null;
        _step = 0;
    }
}
