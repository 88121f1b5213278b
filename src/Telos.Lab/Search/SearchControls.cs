using Telos.Lab.Configuration;
using Telos.Lab.Runs;
using Telos.Learning.Planning;

namespace Telos.Lab.Search;

/// <summary>The controls of a <c>search-train</c> run beside its training: what is held equal across budgets, and the value head's goal regression.</summary>
/// <param name="Control"><see cref="SearchControls.EqualSteps"/> (every budget trains <c>total_timesteps</c>) or <see cref="SearchControls.EqualCompute"/> (every budget trains the network rows the reference budget spends in <c>total_timesteps</c>).</param>
/// <param name="ReferenceSimulations">The reference budget of the equal-compute control (<c>compute_reference_simulations</c>).</param>
/// <param name="ValueLabelBudgets">k of the value head's goal regression (<c>value_label_budgets</c>; empty: none).</param>
/// <param name="ValueRegressionSteps">Adam steps of each of those fine-tunings (<c>value_regression_steps</c>).</param>
public sealed record SearchControlSettings(string Control, int ReferenceSimulations, IReadOnlyList<int> ValueLabelBudgets, int ValueRegressionSteps)
{
    /// <summary>Equal environment steps, no value regression.</summary>
    public static SearchControlSettings Default { get; } = new(SearchControls.EqualSteps, 1, [], SearchControls.DefaultRegressionSteps);
}

/// <summary>Reads <see cref="SearchControlSettings"/> from a config and applies them to the training.</summary>
public static class SearchControls
{
    /// <summary>The <c>control</c> of equal environment steps (the default).</summary>
    public const string EqualSteps = "steps";

    /// <summary>The <c>control</c> of equal compute, in <see cref="SearchCompute"/>'s network rows.</summary>
    public const string EqualCompute = "compute";

    /// <summary>Adam steps of a value-head fine-tuning by default.</summary>
    public const int DefaultRegressionSteps = 200;

    /// <summary>The value regression's anchor: λ = 1 on 2,000 training-distribution states, as the lab's goal regression; Adam at 0.01.</summary>
    public static ValueRegressionSettings Regression(SearchControlSettings controls, ulong labelSeed, ulong anchorSeed)
    {
        ArgumentNullException.ThrowIfNull(controls);
        return new ValueRegressionSettings(controls.ValueLabelBudgets, 1.0, 2000, controls.ValueRegressionSteps, 0.01, labelSeed, anchorSeed);
    }

    /// <summary>
    /// Reads <c>control</c> [steps], <c>compute_reference_simulations</c> [1], <c>value_label_budgets</c> [none] and
    /// <c>value_regression_steps</c> [200]; under equal compute returns <paramref name="training"/> with its steps cut to the
    /// reference's rows (<see cref="SearchCompute.EqualTo"/>).
    /// </summary>
    /// <exception cref="TelosInputException">A bad value, or a budget of which not one iteration fits in the reference's compute; one line naming the key.</exception>
    public static (SearchControlSettings Controls, SearchTrainingSettings Training) Read(ConfigTable config, SearchTrainingSettings training)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(training);
        var control = config.GetString("control", EqualSteps, [EqualSteps, EqualCompute]);
        var reference = config.GetInt("compute_reference_simulations", 1, 1, 4096);
        var budgets = config.GetIntList("value_label_budgets", [], 0, 100_000, maxCount: 100);
        if (budgets.Distinct().Count() != budgets.Count)
        {
            throw config.Error("value_label_budgets", "a budget is listed twice");
        }
        var controls = new SearchControlSettings(control, reference, budgets, config.GetInt("value_regression_steps", DefaultRegressionSteps, 1, 1_000_000));
        if (control == EqualCompute)
        {
            try
            {
                training = SearchCompute.EqualTo(training, reference);
            }
            catch (TelosInputException e)
            {
                throw config.Error("compute_reference_simulations", e.Message);
            }
        }
        return (controls, training);
    }

    /// <summary>The control as tables name it: <c>equal environment steps</c> or <c>equal compute (n = 1's network rows)</c>.</summary>
    public static string Describe(SearchControlSettings controls)
    {
        ArgumentNullException.ThrowIfNull(controls);
        return controls.Control == EqualCompute
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"equal compute (n = {controls.ReferenceSimulations}'s network rows)")
            : "equal environment steps";
    }

    /// <summary>Adds what the run was held to: <c>compute/equal_compute</c> (1 or 0), <c>compute/timesteps</c> and <c>compute/network_rows</c> (<see cref="SearchCompute.Rows"/>).</summary>
    public static void AddResults(RunResults results, SearchControlSettings controls, SearchTrainingSettings training)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(controls);
        ArgumentNullException.ThrowIfNull(training);
        results.Add("compute/equal_compute", controls.Control == EqualCompute ? 1 : 0)
            .Add("compute/timesteps", (double)training.NumIterations * training.BatchSize)
            .Add("compute/network_rows", SearchCompute.Rows(training));
    }
}
