import pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from workbench.config import load_config
def test_smoke(s3, tmp_path):
    t = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    pq.write_table(t, tmp_path / "f.parquet")
    s3.upload(tmp_path / "f.parquet", "lake/events/f.parquet")
    (tmp_path / "workbench.toml").write_text(s3.toml() + f'\n[sources.lake]\nurl = "{s3.url("lake")}"\n[lake.events]\npath = "{s3.url("lake/events/*.parquet")}"\n')
    from workbench.api import Workbench
    wb = Workbench(load_config(tmp_path / "workbench.toml"))
    df = wb.sql("select * from events order by a")
    print(df, repr(load_config(tmp_path / "workbench.toml").storage))
    assert list(df["a"]) == [1, 2, 3]
    assert s3.secret not in repr(load_config(tmp_path / "workbench.toml"))
    s3.stop(); s3.start()
    assert s3.keys() == ["lake/events/f.parquet"]
    import boto3
    try:
        s3.client(secret="wrong").list_objects_v2(Bucket=s3.name); assert False
    except Exception as e:
        assert "SignatureDoesNotMatch" in str(e)
