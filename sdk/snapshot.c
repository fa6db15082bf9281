/*
 * Disk snapshots of service views; see snapshot.h for the file format and guarantees.
 * I/O module: plain POSIX files, no event loop.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "codec.h"
#include "dict.h"
#include "log_int.h"
#include "sdk_int.h"
#include "fileread.h"
#include "snapshot.h"

#define NAME_CUT         180 /* encoded bytes kept before ~hash */
#define NAME_MAX_ENCODED 200

/* Fixed key: names must be the same in every process. */
#define NAME_K0 0x617274656d697321ull
#define NAME_K1 0x736e617073686f74ull

static int safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int artemisi_snapshot_name(const char *service_id, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    char enc[NAME_MAX_ENCODED + 1];
    size_t n = 0, total = 0, cut = 0;
    if (!service_id || !*service_id)
        return -1;
    size_t len = strlen(service_id);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)service_id[i]);
        /* A leading '.' is encoded too: dot files are our temporary files. */
        size_t w = safe_byte(c) && !(i == 0 && c == '.') ? 1 : 3;
        if (total + w <= NAME_CUT)
            cut = total + w;
        if (total + w <= NAME_MAX_ENCODED) {
            if (w == 1) {
                enc[n++] = (char)c;
            } else {
                enc[n++] = '%';
                enc[n++] = hex[c >> 4];
                enc[n++] = hex[c & 15];
            }
        }
        total += w;
    }
    int w;
    if (total <= NAME_MAX_ENCODED) {
        w = snprintf(out, outlen, "%.*s.json", (int)n, enc);
    } else {
        /* Hash of the lower-cased id, computed in chunks without a copy. */
        char low[64];
        uint64_t h = NAME_K0;
        for (size_t i = 0; i < len; i += sizeof(low)) {
            size_t k = len - i < sizeof(low) ? len - i : sizeof(low);
            for (size_t j = 0; j < k; j++)
                low[j] = (char)tolower((unsigned char)service_id[i + j]);
            h = artemisi_siphash(low, k, h, NAME_K1);
        }
        w = snprintf(out, outlen, "%.*s~%016llx.json", (int)cut, enc, (unsigned long long)h);
    }
    return w > 0 && (size_t)w < outlen ? 0 : -1;
}

static int mkdir_p(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int artemisi_snapshot_save(const char *dir, const artemis_service_t *svc)
{
    char name[256];
    artemisi_buf_t body = ARTEMISI_BUF_INIT, path = ARTEMISI_BUF_INIT, tmp = ARTEMISI_BUF_INIT;
    int fd = -1, rc = -1;
    if (!dir || !*dir || !svc || artemisi_snapshot_name(svc->service_id, name, sizeof(name))) {
        errno = EINVAL;
        return -1;
    }
    if (artemisi_buf_appends(&body, "{\"serviceId\":") ||
        artemisi_json_str(&body, svc->service_id) ||
        artemisi_buf_appendf(&body, ",\"savedAt\":%lld,\"confirmedAt\":%lld,\"service\":",
                             (long long)artemisi_wall_ms(),
                             (long long)artemisi_service_confirmed_ms(svc)) ||
        artemisi_service_encode(&body, svc) || artemisi_buf_appends(&body, "}\n") ||
        artemisi_buf_appendf(&path, "%s/%s", dir, name) ||
        artemisi_buf_appendf(&tmp, "%s/.%s.XXXXXX", dir, name)) {
        errno = ENOMEM;
        goto out;
    }
    if (mkdir_p(dir) != 0 || (fd = mkstemp(tmp.data)) < 0)
        goto out;
    if (write_all(fd, body.data, body.len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp.data);
        errno = e;
        goto out;
    }
    if (close(fd) != 0 || rename(tmp.data, path.data) != 0) {
        int e = errno;
        unlink(tmp.data);
        errno = e;
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the rename is durable once the directory is */
        close(dfd);
    }
    rc = 0;
out:
    artemisi_buf_free(&body);
    artemisi_buf_free(&path);
    artemisi_buf_free(&tmp);
    return rc;
}

/* Read a regular file of at most ARTEMISI_SNAPSHOT_MAX_BYTES (fileread.h: a FIFO under a
 * snapshot name once hung the application's start). Anything else under a snapshot name is
 * "no snapshot". No logger reaches this module, so skips are logged with the library's default
 * (stderr under ARTEMIS_DEBUG=1). */
static char *read_file(const char *path, size_t *len)
{
    char *data;
    int e, opened;
    switch (artemisi_read_file(path, ARTEMISI_SNAPSHOT_MAX_BYTES, 1, &data, len, &e, &opened)) {
    case ARTEMISI_READ_OK:
        return data;
    case ARTEMISI_READ_NOT_REGULAR:
        ARTEMISI_LOG(NULL, ARTEMIS_LOG_WARN, "snapshot", "%s: not a regular file, ignored", path);
        break;
    case ARTEMISI_READ_TOO_BIG:
        ARTEMISI_LOG(NULL, ARTEMIS_LOG_WARN, "snapshot", "%s: larger than %zu bytes, ignored", path,
                     (size_t)ARTEMISI_SNAPSHOT_MAX_BYTES);
        break;
    case ARTEMISI_READ_ERRNO:
    case ARTEMISI_READ_CHANGED: /* grew while we read it: not a snapshot we wrote */
        break;
    }
    return NULL;
}

/* Load and validate one file. expect_id: the id the caller asked for, or NULL to check the
 * file's id against its file name (base) instead. */
static artemis_service_t *load_file(const char *path, const char *expect_id, const char *base,
                                    int64_t now_wall)
{
    size_t len = 0;
    char *data = read_file(path, &len);
    if (!data)
        return NULL;
    json_t *root = artemisi_json_parse(data, len, NULL, 0);
    free(data);
    if (!root)
        return NULL;
    artemis_service_t *svc = NULL;
    const char *id = NULL, *inner_id = NULL;
    json_t *conf = json_object_get(root, "confirmedAt");
    json_t *service = json_object_get(root, "service");
    if (!json_is_object(root) || artemisi_json_get_str(root, "serviceId", &id) != 0 || !id ||
        !json_is_integer(conf) || !json_is_object(service) ||
        artemisi_json_get_str(service, "serviceId", &inner_id) != 0 || !inner_id ||
        strcasecmp(id, inner_id) != 0)
        goto out;
    if (expect_id && strcasecmp(id, expect_id) != 0)
        goto out;
    if (base) {
        char name[256];
        if (artemisi_snapshot_name(id, name, sizeof(name)) != 0 || strcmp(name, base) != 0)
            goto out;
    }
    int64_t confirmed = json_integer_value(conf);
    if (confirmed > now_wall)
        confirmed = now_wall;
    svc = artemisi_service_from_json(service, confirmed, 1);
out:
    json_decref(root);
    return svc;
}

artemis_service_t *artemisi_snapshot_load(const char *dir, const char *service_id, int64_t now_wall)
{
    char name[256];
    artemisi_buf_t path = ARTEMISI_BUF_INIT;
    if (!dir || !service_id || artemisi_snapshot_name(service_id, name, sizeof(name)) != 0 ||
        artemisi_buf_appendf(&path, "%s/%s", dir, name) != 0) {
        artemisi_buf_free(&path);
        return NULL;
    }
    artemis_service_t *svc = load_file(path.data, service_id, NULL, now_wall);
    artemisi_buf_free(&path);
    return svc;
}

int artemisi_snapshot_load_all(const char *dir, artemisi_cache_t *c, int64_t now_wall)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int added = 0;
    struct dirent *de;
    artemisi_buf_t path = ARTEMISI_BUF_INIT;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || de->d_name[0] == '.' || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        artemisi_buf_reset(&path);
        if (artemisi_buf_appendf(&path, "%s/%s", dir, de->d_name) != 0)
            continue;
        artemis_service_t *svc = load_file(path.data, NULL, de->d_name, now_wall);
        if (!svc)
            continue; /* hostile or unreadable: skipped */
        if (artemisi_cache_seed(c, svc) > 0)
            added++;
        artemis_service_unref(svc);
    }
    artemisi_buf_free(&path);
    closedir(d);
    return added;
}
