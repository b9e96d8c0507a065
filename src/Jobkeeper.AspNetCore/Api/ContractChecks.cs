using System.Collections;
using System.Collections.Concurrent;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
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

    public static void Check(object body, JsonTypeInfo info) => CheckObject(body, info, "", rules: true);

    /// <param name="rules">
    /// False for the items of a list (the jobs of a batch): each item's values are answered on their own by the job's
    /// validation, so only what could not be stored or written back at all (free-form JSON, numbers) refuses the whole body.
    /// </param>
    private static void CheckObject(object body, JsonTypeInfo info, string prefix, bool rules)
    {
        foreach (var member in Plans.GetOrAdd(info, Plan))
        {
            member.Check(body, prefix, rules);
        }
    }

    private static MemberCheck[] Plan(JsonTypeInfo info) =>
        info.Kind == JsonTypeInfoKind.Object ? [.. info.Properties.Where(p => p.Get is not null).Select(p => new MemberCheck(p))] : [];

    private sealed class MemberCheck
    {
        private readonly JsonPropertyInfo _property;
        private readonly bool _optional;
        private readonly Type _valueType;
        private readonly Type? _itemType;
        private readonly Attribute[] _rules;
        private readonly bool _required;

        public MemberCheck(JsonPropertyInfo property)
        {
            _property = property;
            var type = property.PropertyType;
            if (Optional.ValueTypeOf(type) is { } valueType)
            {
                _optional = true;
                type = valueType;
            }

            _valueType = Nullable.GetUnderlyingType(type) ?? type;
            // Lists of contract objects (the jobs of a batch) are checked item by item.
            _itemType = _valueType.IsGenericType && _valueType.GetGenericArguments() is [var item] && IsContract(item) ? item : null;
            var attributes = property.AttributeProvider?.GetCustomAttributes(true).OfType<Attribute>().ToArray() ?? [];
            _rules = [.. attributes.Where(a => a is RangeAttribute or StringLengthAttribute or MinLengthAttribute or MaxLengthAttribute)];
            _required = !_optional && !type.IsValueType && !property.IsSetNullable;
        }

        public void Check(object owner, string prefix, bool rules)
        {
            var value = _property.Get!(owner);
            if (_optional)
            {
                if (value is not IOptional { HasValue: true } given)
                {
                    return;
                }

                value = given.Value;
            }

            var field = prefix + _property.Name;
            if (value is null)
            {
                if (_required && rules)
                {
                    throw new JobValidationException(field, ContractErrors.Required(_property) + "; it may not be null");
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

            foreach (var rule in rules ? _rules : [])
            {
                if (Broken(rule, value) is { } problem)
                {
                    throw new JobValidationException(field, problem);
                }
            }

            if (IsContract(_valueType))
            {
                CheckObject(value, _property.Options.GetTypeInfo(_valueType), field + ".", rules);
            }
            else if (_itemType is not null && value is IEnumerable items)
            {
                var info = _property.Options.GetTypeInfo(_itemType);
                var index = 0;
                foreach (var item in items)
                {
                    if (item is not null)
                    {
                        CheckObject(item, info, $"{field}[{index}].", rules: false);
                    }

                    index++;
                }
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

        private static bool IsContract(Type type) =>
            type.Namespace?.StartsWith("Jobkeeper", StringComparison.Ordinal) == true && !type.IsEnum && type.IsClass;

        private static string Text(object bound) => Convert.ToString(bound, CultureInfo.InvariantCulture) ?? "";
    }
}
