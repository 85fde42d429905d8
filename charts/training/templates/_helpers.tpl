{{/* Common labels. */}}
{{- define "training.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{/* The label of the pods that may reach the Kubernetes API in this namespace (the platform's allow-kube-api
policy selects it): launchers. The job policy refuses it on training job pods. */}}
{{- define "training.apiClientLabel" -}}
mlops.platform/kube-api: "true"
{{- end }}
