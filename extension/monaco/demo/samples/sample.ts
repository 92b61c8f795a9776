// Shapes with areas, and a function that sums them by kind.

interface Circle {
  kind: 'circle';
  radius: number;
}

interface Rect {
  kind: 'rect';
  width: number;
  height: number;
}

type Shape = Circle | Rect;

function area(shape: Shape): number {
  switch (shape.kind) {
    case 'circle':
      return Math.PI * shape.radius * shape.radius;
    case 'rect':
      return shape.width * shape.height;
  }
}

function totalArea(shapes: Shape[]): number {
  return shapes.reduce((sum, s) => sum + area(s), 0);
}


