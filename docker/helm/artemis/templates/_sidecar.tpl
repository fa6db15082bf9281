{{/*
artemis.sidecar: the artemis-sidecar container, to add to an application pod's `containers:`.

  containers:
    - name: app
      ...
    {{- include "artemis.sidecar" (dict "root" $ "serviceId" "orders.service" "appPort" 8080) | nindent 4 }}

Arguments (a dict): root (the chart context, `$`), serviceId, appPort, and optionally
healthPath (default "/", the app's health check path on 127.0.0.1:appPort; "" = no check).
The pod must be in the release's namespace (the container reads the ConfigMap
<fullname>-sidecar with envFrom). The app then finds its peers at 127.0.0.1:8601
(GET /v1/services/<id>) or by DNS on 127.0.0.1:8600 (<id>.service.artemis). The instance id
is <pod name>:<appPort>, the IP the pod IP. Named templates are global in Helm: a chart that
lists artemis as a dependency can include this one.
*/}}
{{- define "artemis.sidecar" -}}
{{- $root := .root -}}
{{- $img := $root.Values.sidecar.image -}}
{{- $health := "/" -}}
{{- if hasKey . "healthPath" }}{{ $health = .healthPath }}{{ end -}}
- name: artemis-sidecar
  image: "{{ $img.repository }}:{{ $img.tag | default $root.Chart.AppVersion }}"
  imagePullPolicy: {{ $img.pullPolicy }}
  envFrom:
    - configMapRef:
        name: {{ include "artemis.fullname" $root }}-sidecar
  env:
    - name: ARTEMIS_SIDECAR_APP_SERVICE_ID
      value: {{ .serviceId | quote }}
    - name: ARTEMIS_SIDECAR_APP_PORT
      value: {{ .appPort | quote }}
    - name: ARTEMIS_SIDECAR_APP_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: ARTEMIS_SIDECAR_APP_INSTANCE_ID
      value: "$(POD_NAME):{{ .appPort }}"
    - name: ARTEMIS_SIDECAR_APP_METADATA
      value: "pod=$(POD_NAME)"
    {{- if $health }}
    - name: ARTEMIS_SIDECAR_APP_HEALTH_CHECK_URL
      value: "http://127.0.0.1:{{ .appPort }}{{ $health }}"
    {{- end }}
  readinessProbe:
    exec:
      command: ["curl", "-fsS", "http://{{ $root.Values.sidecar.httpListen }}/health"]
    periodSeconds: 5
    timeoutSeconds: 2
  livenessProbe:
    exec:
      command: ["curl", "-fsS", "http://{{ $root.Values.sidecar.httpListen }}/health"]
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  resources:
    {{- toYaml $root.Values.sidecar.resources | nindent 4 }}
  volumeMounts:
    - name: artemis-sidecar-cache
      mountPath: /var/cache/artemis-sidecar
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
{{- end -}}

{{/* artemis.sidecarVolume: the volume the sidecar container mounts; add it to `volumes:`. */}}
{{- define "artemis.sidecarVolume" -}}
- name: artemis-sidecar-cache
  emptyDir: {}
{{- end -}}
