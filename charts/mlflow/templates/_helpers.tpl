{{/* Chart name, truncated for label values. */}}
{{- define "mlflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart name unless the release already contains it. */}}
{{- define "mlflow.fullname" -}}
{{- if contains (include "mlflow.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "mlflow.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* chart label: name-version */}}
{{- define "mlflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels. */}}
{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "mlflow.labels" -}}
helm.sh/chart: {{ include "mlflow.chart" . }}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{/* Labels of one part (server, postgresql, minio). */}}
{{- define "mlflow.partLabels" -}}
{{ include "mlflow.labels" .root }}
app.kubernetes.io/component: {{ .part }}
{{- end }}

{{- define "mlflow.partSelector" -}}
{{ include "mlflow.selectorLabels" .root }}
app.kubernetes.io/component: {{ .part }}
{{- end }}

{{/* Restricted Pod Security Standard, for every container. */}}
{{- define "mlflow.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Database host: the in-cluster PostgreSQL Service, or the external one. */}}
{{- define "mlflow.dbHost" -}}
{{- if .Values.postgresql.enabled }}{{ include "mlflow.fullname" . }}-postgresql.{{ .Release.Namespace }}.svc{{ else }}{{ required "backendStore.host is required when postgresql.enabled is false" .Values.backendStore.host }}{{ end }}
{{- end }}

{{/* S3 endpoint: the in-cluster object store, or the configured one ("" = AWS). */}}
{{- define "mlflow.s3Endpoint" -}}
{{- if .Values.minio.enabled }}https://{{ include "mlflow.fullname" . }}-minio.{{ .Release.Namespace }}.svc:9000{{ else }}{{ .Values.artifacts.s3.endpoint }}{{ end }}
{{- end }}

{{/* DNS names of the server certificate. */}}
{{- define "mlflow.dnsNames" -}}
- {{ include "mlflow.fullname" . }}
- {{ include "mlflow.fullname" . }}.{{ .Release.Namespace }}.svc
- {{ include "mlflow.fullname" . }}.{{ .Release.Namespace }}.svc.cluster.local
{{- if .Values.ingress.enabled }}
- {{ .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* Environment of the database scripts (files/env.sh). */}}
{{- define "mlflow.databaseEnv" -}}
- {name: SCRIPTS_DIR, value: /opt/mlflow/scripts}
- {name: HOME, value: /tmp}
- {name: DB_HOST, value: {{ include "mlflow.dbHost" . | quote }}}
- {name: DB_PORT, value: {{ .Values.backendStore.port | quote }}}
- {name: DB_NAME, value: {{ .Values.backendStore.database | quote }}}
- {name: DB_SSLMODE, value: {{ .Values.backendStore.sslMode | quote }}}
- {name: CA_FILE, value: /etc/mlflow/ca/{{ .Values.tls.caKey }}}
- name: DB_USER
  valueFrom: {secretKeyRef: {name: {{ .Values.backendStore.existingSecret }}, key: username}}
- name: DB_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.backendStore.existingSecret }}, key: password}}
{{- end }}

{{/* S3 credentials and endpoint. */}}
{{- define "mlflow.objectStoreEnv" -}}
- {name: ARTIFACT_BUCKET, value: {{ .Values.artifacts.bucket | quote }}}
{{- with include "mlflow.s3Endpoint" . }}
- {name: MLFLOW_S3_ENDPOINT_URL, value: {{ . | quote }}}
{{- end }}
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ .Values.artifacts.s3.existingSecret }}, key: accessKey}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.artifacts.s3.existingSecret }}, key: secretKey}}
{{- end }}

{{/* Mounts shared by the server and its migration init container. */}}
{{- define "mlflow.serverMounts" -}}
- {name: scripts, mountPath: /opt/mlflow/scripts, readOnly: true}
- {name: ca, mountPath: /etc/mlflow/ca, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- end }}

{{/* The object store's read-only policy (MinIO IAM, AWS policy language) and its name. */}}
{{- define "mlflow.readPolicyName" -}}
{{ .Values.artifacts.bucket }}-read
{{- end }}

{{- define "mlflow.readPolicy" -}}
{{- $bucket := printf "arn:aws:s3:::%s" .Values.artifacts.bucket -}}
{{- toJson (dict "Version" "2012-10-17" "Statement" (list
      (dict "Effect" "Allow" "Action" (list "s3:GetBucketLocation" "s3:ListBucket") "Resource" (list $bucket))
      (dict "Effect" "Allow" "Action" (list "s3:GetObject") "Resource" (list (printf "%s/*" $bucket))))) -}}
{{- end }}
