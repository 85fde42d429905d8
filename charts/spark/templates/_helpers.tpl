{{/* Common labels. */}}
{{- define "spark.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: spark
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlops-platform
{{- end }}

{{/* Selector of one part (master, worker). */}}
{{- define "spark.selector" -}}
app.kubernetes.io/name: spark
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .part }}
{{- end }}

{{/* Restricted Pod Security: the image's spark user (185). */}}
{{- define "spark.podSecurity" -}}
runAsNonRoot: true
runAsUser: 185
runAsGroup: 185
fsGroup: 185
seccompProfile: {type: RuntimeDefault}
{{- end }}

{{- define "spark.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities: {drop: [ALL]}
{{- end }}

{{- define "spark.masterUrl" -}}
spark://{{ .Release.Name }}-master.{{ .Release.Namespace }}.svc:7077
{{- end }}

{{/* What every Spark JVM here mounts: the shared volume (same path everywhere) and spark-defaults. */}}
{{- define "spark.volumes" -}}
- name: shared
  persistentVolumeClaim: {claimName: {{ .Release.Name }}-shared}
- name: conf
  configMap: {name: {{ .Release.Name }}-defaults}
- name: work
  emptyDir: {}
{{- end }}

{{- define "spark.mounts" -}}
- {name: shared, mountPath: {{ .Values.shared.mountPath }}}
- {name: conf, mountPath: /opt/spark/conf/spark-defaults.conf, subPath: spark-defaults.conf, readOnly: true}
- {name: work, mountPath: /opt/spark/work}
{{- end }}

{{/* The pod's IP as SPARK_DRIVER_HOST: spark-defaults reads it (spark.driver.host ${env:SPARK_DRIVER_HOST}). */}}
{{- define "spark.podIpEnv" -}}
- name: SPARK_DRIVER_HOST
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- name: SPARK_LOCAL_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
{{- end }}

{{/* The shared secret every master, worker and driver authenticates with (spark-defaults: spark.authenticate). */}}
{{- define "spark.authEnv" -}}
- name: _SPARK_AUTH_SECRET
  valueFrom: {secretKeyRef: {name: {{ .Values.auth.existingSecret }}, key: secret}}
{{- end }}

{{/* MLflow for a driver: where it is, its user, the CA, and the shared directory Spark ML models pass through. */}}
{{- define "spark.mlflowEnv" -}}
- {name: MLFLOW_TRACKING_URI, value: {{ .Values.mlflow.trackingUri | quote }}}
- {name: MLFLOW_TRACKING_SERVER_CERT_PATH, value: /etc/mlflow-ca/{{ .Values.mlflow.caConfigMap.key }}}
- {name: MLFLOW_DFS_TMP, value: {{ printf "%s/%s" (trimSuffix "/" .Values.shared.mountPath) .Values.mlflow.stagingDir | quote }}}
{{- if .Values.mlflow.credentialsSecret }}
{{- range $var, $key := dict "MLFLOW_TRACKING_USERNAME" "username" "MLFLOW_TRACKING_PASSWORD" "password" }}
- name: {{ $var }}
  valueFrom: {secretKeyRef: {name: {{ $.Values.mlflow.credentialsSecret }}, key: {{ $key }}}}
{{- end }}
{{- end }}
{{- end }}
