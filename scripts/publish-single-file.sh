#!/usr/bin/env bash
# A single-file `jobkeeper` that needs no .NET installed: self-contained (the .NET and ASP.NET Core runtimes inside),
# compressed, for one runtime identifier (default linux-x64). Output: artifacts/single-file/<rid>/jobkeeper.
#
#   scripts/publish-single-file.sh [rid]
#
# Not trimmed: even partial trimming broke the server (some problem answers became 500s, seen by
# the Python and TypeScript clients' tests run against the trimmed file). ReadyToRun: precompiled code, so the server
# does not spend its start compiling. See "A single file that needs no .NET" in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

rid="${1:-linux-x64}"
out="artifacts/single-file/$rid"
rm -rf "$out"
dotnet publish src/Jobkeeper.Server -c Release -r "$rid" --self-contained \
  -p:PublishSingleFile=true \
  -p:EnableCompressionInSingleFile=true \
  -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:PublishReadyToRun=true \
  -p:PublishDocumentationFile=false \
  -p:PublishReferencesDocumentationFiles=false \
  -o "$out" -nologo -clp:ErrorsOnly
# Only the executable is needed; appsettings.json beside it holds nothing the server lacks without it.
find "$out" -type f ! -name jobkeeper -delete
ls -l "$out/jobkeeper"
"$out/jobkeeper" --version
