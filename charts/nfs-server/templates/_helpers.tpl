{{/* Common labels. */}}
{{- define "nfs-server.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{- define "nfs-server.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Address of the NFS server the StorageClass provisions on. */}}
{{- define "nfs-server.host" -}}
{{- if .Values.server.enabled }}{{ printf "%s.%s.svc.cluster.local" .Release.Name .Release.Namespace }}{{ else }}{{ .Values.external.host }}{{ end }}
{{- end }}

{{/* The in-cluster server's exported directory (its data volume), the NFSv4 path clients mount it at (the
StorageClass's share) and its NFSv4 recovery directory. */}}
{{- define "nfs-server.exportDir" -}}
/srv/nfs
{{- end }}

{{- define "nfs-server.pseudoPath" -}}
/exports
{{- end }}

{{- define "nfs-server.recoveryDir" -}}
/var/lib/nfs/ganesha
{{- end }}
