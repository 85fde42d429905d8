{{/* Chart name, truncated for label values. */}}
{{- define "seldon-platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart label: name-version */}}
{{- define "seldon-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. */}}
{{- define "seldon-platform.labels" -}}
helm.sh/chart: {{ include "seldon-platform.chart" . }}
app.kubernetes.io/name: {{ include "seldon-platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{/* Labels of Strimzi resources: ours plus the cluster they belong to. */}}
{{- define "seldon-platform.kafkaLabels" -}}
{{ include "seldon-platform.labels" . }}
strimzi.io/cluster: {{ .Values.kafka.name }}
{{- end }}
