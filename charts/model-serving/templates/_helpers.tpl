{{/* Common labels. */}}
{{- define "model-serving.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{/* Annotations recording the release tag (labels cannot hold it: too long, '@' and '/'). */}}
{{- define "model-serving.annotations" -}}
mlops.platform/release-tag: {{ .Values.release.tag | quote }}
mlops.platform/code-version: {{ .Values.release.codeVersion | quote }}
{{- end }}

{{/* Fails rendering when a pipeline or experiment names a model the release does not serve. */}}
{{- define "model-serving.requireModel" -}}
{{- $names := list }}
{{- range .root.Values.models }}{{ $names = append $names .name }}{{ end }}
{{- if not (has .name $names) }}
{{- fail (printf "%s refers to model %q, which this release does not serve" .where .name) }}
{{- end }}
{{- end }}
