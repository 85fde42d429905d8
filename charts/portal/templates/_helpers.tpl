{{/* Common labels. */}}
{{- define "portal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{ include "portal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{- define "portal.selectorLabels" -}}
app.kubernetes.io/name: portal
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* How the page is published: "route" on OpenShift (route.openshift.io served), "ingress" elsewhere, "" when not. */}}
{{- define "portal.publish" -}}
{{- if .Values.ingress.enabled }}{{ ternary "route" "ingress" (.Capabilities.APIVersions.Has "route.openshift.io/v1") }}{{ end }}
{{- end }}

{{- define "portal.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
