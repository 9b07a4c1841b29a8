"""Where photo bytes are kept: a key → bytes store, in a directory (the default) or an S3-compatible bucket.

Keys are content addresses made by webapp/photos.py (`<sha256>.jpg`, `<sha256>.thumb.jpg`): a key always names
the same bytes, so writing a key that exists is never needed and a blob can be copied anywhere without conflict.
The interface is four methods — put, get, exists, delete — and `store_for(app)` builds the configured store once.
"""
import os
import re
import tempfile
from pathlib import Path

KEY = re.compile(r"[0-9a-f]{64}(?:\.[a-z0-9]{1,16}){0,3}")
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
EXTENSION = "jingzhan.photo_store"


class PhotoStoreError(Exception):
    """The photo store is misconfigured or a key is refused; the message says what to do, in Chinese."""


def check_key(key: str) -> str:
    """The key itself if it is a content address; anything else (slashes, dots, traversal) is refused."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise PhotoStoreError(f"照片存储的键无效：{key!r}")  # i18n: data — the operator's setup error
    return key


class DirectoryStore:
    """Blobs as files under root, fanned out by the key's first four hex digits: root/ab/cd/<key>."""

    def __init__(self, root):
        self.root = Path(root)

    def __repr__(self):
        return f"DirectoryStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file that holds key (checked, so it is always inside root)."""
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        """Write data under key: to a temporary file beside it, flushed, then renamed over — never a partial file."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        """The bytes under key, or None."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def _not_found(exc: Exception) -> bool:
    """botocore's ClientError for a missing key (read from its response, so botocore is not imported here)."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and str(response.get("Error", {}).get("Code")) in NOT_FOUND


class S3Store:
    """Blobs as objects <prefix><key> in an S3-compatible bucket. boto3 (`pip install 'jingzhan[s3]'`) is imported
    only when this store is built without a client; credentials and region come from the standard AWS settings
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ~/.aws/config)."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, client=None):
        if not bucket:
            raise PhotoStoreError("照片存到 S3 时必须设置 JINGZHAN_PHOTO_S3_BUCKET。")  # i18n: data — the operator's setup error
        self.bucket, self.prefix = bucket, prefix
        if client is None:
            try:
                import boto3
            except ImportError:
                raise PhotoStoreError("照片存到 S3 需要 boto3：pip install 'jingzhan[s3]'。") from None  # i18n: data
            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client = client

    def __repr__(self):
        return f"S3Store({self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        # One PUT: S3 makes an object visible whole or not at all.
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                               ContentType="image/jpeg" if key.endswith(".jpg") else "application/octet-stream")

    def get(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _not_found(exc):
                return None
            raise
        body = answer["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))


def build_store(config):
    """The store a configuration asks for (JINGZHAN_PHOTO_STORE: dir, the default, or s3)."""
    kind = str(config.get("PHOTO_STORE") or "dir").strip().lower()
    if kind == "dir":
        return DirectoryStore(config["PHOTO_DIR"])
    if kind == "s3":
        return S3Store(config.get("PHOTO_S3_BUCKET", ""), prefix=config.get("PHOTO_S3_PREFIX", ""),
                       endpoint_url=config.get("PHOTO_S3_ENDPOINT") or None)
    raise PhotoStoreError(f"JINGZHAN_PHOTO_STORE 只能是 dir 或 s3，现在是 {kind!r}。")  # i18n: data — the operator's setup error


def store_for(app):
    """The app's photo store, built on first use and then kept for the app's life (one S3 client per app)."""
    store = app.extensions.get(EXTENSION)
    if store is None:
        store = app.extensions.setdefault(EXTENSION, build_store(app.config))
    return store
