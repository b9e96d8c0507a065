using System.Globalization;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Validation;

/// <summary>
/// Collects what is wrong with a set of options, one line per setting, each naming the configuration key and the
/// allowed range (e.g. <c>Jobkeeper:Workers:LeaseDuration must be from 00:00:01 to 01:00:00; it is 00:00:00</c>), so that
/// an operator can fix the value without reading code.
/// </summary>
public sealed class OptionProblems
{
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Problems => _problems;

    public void Add(string problem) => _problems.Add(problem);

    public void Range(string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            _problems.Add($"{key} must be from {min:c} to {max:c}; it is {value:c}");
        }
    }

    public void Range(string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            _problems.Add(string.Create(CultureInfo.InvariantCulture, $"{key} must be from {min} to {max}; it is {value}"));
        }
    }

    public void Range(string key, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            _problems.Add(string.Create(CultureInfo.InvariantCulture, $"{key} must be from {min} to {max}; it is {value}"));
        }
    }

    public void NotEmpty(string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            _problems.Add($"{key} must not be empty");
        }
    }

    public ValidateOptionsResult Result() => _problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_problems);
}
