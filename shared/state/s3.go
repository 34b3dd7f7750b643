package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client the store uses (a *s3.Client).
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// S3Prefix is where checkpoints live in the state bucket; the enrich function's IAM policy grants this prefix.
const S3Prefix = "state/v1/"

// maxBlob bounds a checkpoint read (a whole market's partition is a few MB).
const maxBlob = 256 << 20

// S3 is a Store in an S3 bucket: one object per checkpoint, key
// state/v1/<topic>/<partition %05d>/<MaxInt64-offset %019d>. Keys sort newest first, so the newest checkpoint
// at or below an offset is the first key after a computed StartAfter: one ListObjectsV2 call, then one GET.
// The bucket's lifecycle rule deletes old checkpoints.
type S3 struct {
	client S3API
	bucket string
}

// NewS3 returns a store in bucket.
func NewS3(client S3API, bucket string) *S3 { return &S3{client: client, bucket: bucket} }

func s3PartitionPrefix(topic string, partition int32) string {
	return fmt.Sprintf("%s%s/%05d/", S3Prefix, topic, partition)
}

func s3Key(topic string, partition int32, offset int64) string {
	return s3PartitionPrefix(topic, partition) + fmt.Sprintf("%019d", math.MaxInt64-offset)
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, topic string, partition int32, offset int64, blob []byte) error {
	if err := checkKey(topic, partition, offset); err != nil {
		return err
	}
	key := s3Key(topic, partition, offset)
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(blob),
		ContentLength: aws.Int64(int64(len(blob))),
		ContentType:   aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("state checkpoint s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Latest implements Store.
func (s *S3) Latest(ctx context.Context, topic string, partition int32, atOrBelow int64) (int64, []byte, bool, error) {
	if err := checkKey(topic, partition, 0); err != nil {
		return 0, nil, false, err
	}
	if atOrBelow < 0 {
		return 0, nil, false, nil
	}
	prefix := s3PartitionPrefix(topic, partition)
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)}
	if inv := math.MaxInt64 - atOrBelow; inv > 0 {
		// keys after this one hold inverted offsets >= inv, that is offsets <= atOrBelow
		in.StartAfter = aws.String(prefix + fmt.Sprintf("%019d", inv-1))
	}
	out, err := s.client.ListObjectsV2(ctx, in)
	if err != nil {
		return 0, nil, false, fmt.Errorf("state checkpoints s3://%s/%s: %w", s.bucket, prefix, err)
	}
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		inv, err := strconv.ParseInt(strings.TrimPrefix(key, prefix), 10, 64)
		if err != nil || inv < 0 {
			return 0, nil, false, fmt.Errorf("state checkpoints s3://%s/%s: unexpected key %q", s.bucket, prefix, key)
		}
		offset := math.MaxInt64 - inv
		blob, err := s.get(ctx, key)
		if err != nil {
			return 0, nil, false, err
		}
		return offset, blob, true, nil
	}
	return 0, nil, false, nil
}

func (s *S3) get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("state checkpoint s3://%s/%s: %w", s.bucket, key, err)
	}
	b, rerr := io.ReadAll(io.LimitReader(out.Body, maxBlob+1))
	if err := errors.Join(rerr, out.Body.Close()); err != nil {
		return nil, fmt.Errorf("state checkpoint s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(b) > maxBlob {
		return nil, fmt.Errorf("state checkpoint s3://%s/%s: larger than %d bytes", s.bucket, key, maxBlob)
	}
	return b, nil
}
