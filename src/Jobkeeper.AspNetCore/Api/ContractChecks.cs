using System.Collections;
using System.Collections.Concurrent;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Checks a bound request body against the rules its contract type states (the same attributes the API document shows:
/// <see cref="RangeAttribute"/>, <see cref="StringLengthAttribute"/>, <see cref="MinLengthAttribute"/>,
/// <see cref="MaxLengthAttribute"/>), that required members are not null, that numbers are finite, and that free-form
/// JSON can be stored and written back (readable text, at most <see cref="JobLimits.MaxFreeFormDepth"/> levels).
/// Patterns (<see cref="RegularExpressionAttribute"/>) are for the document: the job's own validation checks them.
/// </summary>
internal static class ContractChecks
{
    private static readonly ConcurrentDictionary<JsonTypeInfo, MemberCheck[]> Plans = new();

    public static void Check(object body, JsonTypeInfo info) => CheckObject(body, info, "");

    private static void CheckObject(object body, JsonTypeInfo info, string prefix)
    {
        foreach (var member in Plans.GetOrAdd(info, Plan))
        {
            member.Check(body, prefix);
        }
    }

    private static MemberCheck[] Plan(JsonTypeInfo info) =>
        info.Kind == JsonTypeInfoKind.Object ? [.. info.Properties.Where(p => p.Get is not null).Select(p => new MemberCheck(p))] : [];

    private sealed class MemberCheck
    {
        private readonly JsonPropertyInfo _property;
        private readonly PropertyInfo? _hasValue;
        private readonly PropertyInfo? _value;
        private readonly Type _valueType;
        private readonly Attribute[] _rules;
        private readonly bool _required;
        private readonly string? _description;

        public MemberCheck(JsonPropertyInfo property)
        {
            _property = property;
            var type = property.PropertyType;
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>))
            {
                _hasValue = type.GetProperty(nameof(Optional<int>.HasValue));
                _value = type.GetProperty(nameof(Optional<int>.Value));
                type = type.GetGenericArguments()[0];
            }

            _valueType = Nullable.GetUnderlyingType(type) ?? type;
            var attributes = property.AttributeProvider?.GetCustomAttributes(true).OfType<Attribute>().ToArray() ?? [];
            _rules = [.. attributes.Where(a => a is RangeAttribute or StringLengthAttribute or MinLengthAttribute or MaxLengthAttribute)];
            _description = attributes.OfType<DescriptionAttribute>().FirstOrDefault()?.Description;
            _required = _hasValue is null && !type.IsValueType && !property.IsSetNullable;
        }

        public void Check(object owner, string prefix)
        {
            var value = _property.Get!(owner);
            if (_hasValue is not null)
            {
                if (!(bool)_hasValue.GetValue(value)!)
                {
                    return;
                }

                value = _value!.GetValue(value);
            }

            var field = prefix + _property.Name;
            if (value is null)
            {
                if (_required)
                {
                    throw new JobValidationException(field, "is required" + (_description is null ? "" : ": " + _description.TrimEnd('.')) + "; it may not be null");
                }

                return;
            }

            switch (value)
            {
                case JsonElement element:
                    FreeForm.Check(element, field);
                    return;
                case double number when !double.IsFinite(number):
                    throw new JobValidationException(field, "must be a finite number");
            }

            foreach (var rule in _rules)
            {
                if (Broken(rule, value) is { } problem)
                {
                    throw new JobValidationException(field, problem);
                }
            }

            if (_valueType.Namespace?.StartsWith("Jobkeeper", StringComparison.Ordinal) == true && !_valueType.IsEnum)
            {
                CheckObject(value, _property.Options.GetTypeInfo(_valueType), field + ".");
            }
        }

        private static string? Broken(Attribute rule, object value) => rule switch
        {
            RangeAttribute range when !range.IsValid(value) => range.MinimumIsExclusive
                ? $"must be more than {Text(range.Minimum)} and at most {Text(range.Maximum)}"
                : $"must be from {Text(range.Minimum)} to {Text(range.Maximum)}",
            StringLengthAttribute length when !length.IsValid(value) => length.MinimumLength > 0
                ? $"must be {length.MinimumLength} to {length.MaximumLength} characters"
                : $"must be at most {length.MaximumLength} characters",
            MinLengthAttribute min when !min.IsValid(value) => value is string
                ? $"must be at least {min.Length} {(min.Length == 1 ? "character" : "characters")}, and not blank"
                : $"must hold at least {min.Length} {(min.Length == 1 ? "item" : "items")}",
            MaxLengthAttribute max when !max.IsValid(value) => value is ICollection
                ? $"may hold at most {max.Length} items"
                : $"must be at most {max.Length} characters",
            MinLengthAttribute when value is string text && string.IsNullOrWhiteSpace(text) => "must not be blank",
            _ => null,
        };

        private static string Text(object bound) => Convert.ToString(bound, CultureInfo.InvariantCulture) ?? "";
    }
}
