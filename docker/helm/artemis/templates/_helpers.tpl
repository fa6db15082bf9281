{{/* Names, labels and the peer list of the artemis chart. */}}

{{- define "artemis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "artemis.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "artemis.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "artemis.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "artemis.headless" -}}
{{- printf "%s-headless" (include "artemis.fullname" .) -}}
{{- end -}}

{{- define "artemis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "artemis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "artemis.labels" -}}
{{ include "artemis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* http://<fullname>-<i>.<headless>.<namespace>.svc.<domain>:<port>/ : pod i's URL. */}}
{{- define "artemis.podDomain" -}}
{{- printf "%s.%s.svc.%s" (include "artemis.headless" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* --peers in Artemis cluster.nodes format: zone:url,url,... with every pod of the set. */}}
{{- define "artemis.peers" -}}
{{- $full := include "artemis.fullname" . -}}
{{- $domain := include "artemis.podDomain" . -}}
{{- .Values.zone }}:
{{- range $i, $e := until (int .Values.replicaCount) -}}
{{- if $i }},{{ end }}http://{{ $full }}-{{ $i }}.{{ $domain }}:{{ $.Values.server.port }}/
{{- end -}}
{{- end -}}

{{/* The registry URL the sidecar uses: sidecar.server, else this release's client Service. */}}
{{- define "artemis.registryUrl" -}}
{{- if .Values.sidecar.server -}}
{{- .Values.sidecar.server -}}
{{- else -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "artemis.fullname" .) .Release.Namespace .Values.clusterDomain .Values.service.port -}}
{{- end -}}
{{- end -}}
