#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of every project that references Microsoft.CodeAnalysis.PublicApiAnalyzers.
#
#   bash scripts/public-api.sh
#
# Run it after changing, adding or removing a public type or member in one of those projects (the build then fails
# with RS0016 "Symbol '...' is not part of the declared public API" or RS0017), and after merging branches that did,
# then review the diff of the PublicAPI.*.txt files: it is the change to the public surface. Each Unshipped file is
# rewritten from the code (the `dotnet format` code fix for RS0016/RS0017), so entries of removed members go too;
# PublicAPI.Shipped.txt is never touched (move entries there by hand when a version ships). To cover another project,
# give it the same PackageReference as src/Jobkeeper.Core/Jobkeeper.Core.csproj and run this.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t projects < <(grep -l 'Include="Microsoft.CodeAnalysis.PublicApiAnalyzers"' src/*/*.csproj | sort)
if [ "${#projects[@]}" -eq 0 ]; then
  echo "no project references Microsoft.CodeAnalysis.PublicApiAnalyzers" >&2
  exit 1
fi

# Start every Unshipped file empty, so the fix lists exactly today's API (and *REMOVED* lines for shipped members).
for project in "${projects[@]}"; do
  dir="$(dirname "$project")"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
done

for project in "${projects[@]}"; do
  echo "== $project"
  # --include-generated: System.Text.Json's source-generated context members are public API too.
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity warn --include-generated -v q
done

# The build is the check: it fails on anything the fix could not list.
for project in "${projects[@]}"; do
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly
done
git status --short -- 'src/*/PublicAPI.*.txt'
