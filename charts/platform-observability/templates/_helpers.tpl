{{/* Chart name, truncated for label values. */}}
{{- define "platform-observability.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart name unless the release already contains it. */}}
{{- define "platform-observability.fullname" -}}
{{- if contains (include "platform-observability.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "platform-observability.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* chart label: name-version */}}
{{- define "platform-observability.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels. */}}
{{- define "platform-observability.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform-observability.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "platform-observability.labels" -}}
helm.sh/chart: {{ include "platform-observability.chart" . }}
{{ include "platform-observability.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}
